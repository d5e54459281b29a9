"""§3, §4, §7 The conversation: manners, names, read-backs, pace and listening."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from itertools import accumulate

from rapidfuzz.distance import Indel

from callsop.engine.call import FILLER_STRINGS, Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.engine.history import normalise_phone
from callsop.engine.transcript import Transcript
from callsop.rules import details
from callsop.rules.base import Rule, answered_or_na, seconds, speech
from callsop.rules.common import maybe_misheard
from callsop.rules.names import Names, names, same_surname
from callsop.rules.speech_acts import Gate, both_scripts, pushback, recap, restates_something
from callsop.text import (
    SEP,
    Hit,
    locate,
    script_forms,
    spoken_digits,
    to_simplified,
)

# A lead-in that ends its turn asking the caller to confirm what it read out.
_CONFIRM_TAG = re.compile(r"(?:對嗎|对吗|是嗎|是吗|對不對|对不对|沒錯吧|没错吧|正確嗎|正确吗)\W*$")
_NUMERALS = frozenset("零〇一二三四五六七八九十兩两0123456789")
_TIME_OF_DAY = frozenset(("早上", "上午", "中午", "下午", "晚上", "凌晨", "傍晚"))
_WEEKDAY = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_CN_NUMERAL = "零一二三四五六七八九"
_CN_VALUE = {c: i for i, c in enumerate(_CN_NUMERAL)} | {"〇": 0, "兩": 2, "两": 2}


def _number(text: str) -> int | None:
    """12, 十二, 二十三 as numbers (up to 99)."""
    if len(text) == 1 and text in _CN_VALUE:
        return _CN_VALUE[text]
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        if (tens and tens not in _CN_VALUE) or (ones and ones not in _CN_VALUE):
            return None
        return (_CN_VALUE[tens] if tens else 1) * 10 + (_CN_VALUE[ones] if ones else 0)
    value = 0
    for ch in text:
        if ch not in _CN_VALUE:
            return None
        value = value * 10 + _CN_VALUE[ch]
    return value


_MARKER_KIND = {"點": ":", "点": ":", "號": "D", "号": "D", "日": "D", "週": "W", "周": "W"}
# The first character of every word that marks a date or a time: 點 號 日 週,
# 星期 禮拜, 明天 後天. 月 is left out: a date is said with its day (12月5號),
# and 月 alone is mostly 月費 or 三個月.
_MARKERS = re.compile("[點点號号日週周星禮礼明後后]")
_TWO_CHARACTER_MARKERS = {"星": "期", "禮": "拜", "礼": "拜", "明": "天", "後": "天", "后": "天"}


def read_when(text: str, start: int, end: int) -> tuple[str, str] | None:
    """The date or time around the marker text[start:end] (點, 號, 星期…), as
    (key, words). One key however it is said: 星期六 and 週六 give W6, 三點半
    and 3點30分 give 3:30, 五號 and 5日 give D5 (12月5號 is read as D5).
    None when the marker is no date or time (一點 as in 便宜一點, 星期 alone)."""
    kind = _MARKER_KIND.get(text[start:end])
    if kind is None:  # 星期, 禮拜, 明天, 後天
        if text[start + 1 : end] != _TWO_CHARACTER_MARKERS.get(text[start : start + 1]):
            return None
        marker = to_simplified(text[start:end])
        if marker in ("明天", "后天"):
            return marker, text[start:end]
        day = text[end : end + 1]
        return (f"W{_WEEKDAY[day]}", text[start : end + 1]) if day in _WEEKDAY else None
    if kind == "W":
        day = text[end : end + 1]
        if day in _WEEKDAY:
            return f"W{_WEEKDAY[day]}", text[start : end + 1]
        return ("下周", text[start - 1 : end]) if text[start - 1 : start] == "下" else None
    numerals = details.NUMERAL_CHARS if kind == "D" else _NUMERALS
    if start == 0 or text[start - 1] not in numerals:  # 一點點? no: 點 needs a numeral
        return None
    left = start - 1
    # A numbered thing can be longer than a day (一百二十七號 置物櫃): it is
    # read whole, not as its last day.
    if kind == "D":
        while left > 0 and start - left < 6 and text[left - 1] in details.NUMERAL_CHARS:
            left -= 1
        value = details.cn_number(text[left:start])
    else:
        while left > 0 and start - left < 3 and text[left - 1] in _NUMERALS:
            left -= 1
        value = _number(text[left:start])
        # No hour is past 24: 禮拜五三點半 is 五 (the day) and 三點半.
        while (value is None or value > 24) and left < start - 1:
            left += 1
            value = _number(text[left:start])
    if value is None:
        return None
    if kind == "D":
        return f"D{value}", text[left:end]
    if (
        text[left:start] == "一"
        and to_simplified(text[max(0, left - 2) : left]) not in _TIME_OF_DAY
    ):
        return None  # 一點 without 下午 or the like is "a bit"
    right, minute = end, 0
    if text[end : end + 1] == "半":
        right, minute = end + 1, 30
    elif end < len(text) and text[end] in _NUMERALS:
        stop = end + 1
        while stop < len(text) and stop - end < 3 and text[stop] in _NUMERALS:
            stop += 1
        minute = _number(text[end:stop]) or 0
        right = stop + (text[stop : stop + 1] == "分")
    return f"{value}:{minute:02d}", text[left:right]


def _speech_answered(call: Call) -> Transcript | Outcome:
    if gate := answered_or_na(call):
        return gate
    return speech(call)


def check_no_filler_strings(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    strung = t.first(FILLER_STRINGS, "staff")  # the policy's fillers, strung together
    if strung is not None:
        i = strung.utterance
        return failed(f"strung fillers together: {t.utterances[i].text}", t.turn(i))
    return passed(f"no filler strings in {len(t.staff)} staff turns")


def check_no_arguing(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    hit = t.first("arguing", "staff")
    if hit is not None:
        return failed(f"contradicted the customer ({hit.phrase})", t.evidence(hit))
    # Pushing back in other words (但是我們確實沒有看到, 剛才跟你說了) at a
    # caller who sounds upset, or on a complaint call.
    found = pushback(t, "complaint" in call.tags)
    if found is not None:
        index, cue = found
        words = locate(t.texts[index], cue.start, cue.end - cue.start)
        return failed(f"pushed back at an upset caller ({words})", t.turn(index, words))
    return passed("never contradicted or blamed the customer")


def check_never_guess_name(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    found = names(call, t)
    for address in found.addresses:
        if not address.known_then:
            return failed(
                f"called the caller {address.words} before the surname was given",
                t.turn(address.turn),
                beyond_mishearing=not _surname_maybe_misheard(t, found, address.turn),
            )
    return passed("never guessed the caller's name")


# A caller's reply this short just before staff use a surname may be the
# surname itself, misheard (我姓王 heard as 我認為, or as nothing at all).
SHORT_REPLY_CHARS = 6


def _surname_maybe_misheard(t: Transcript, found: Names, turn: int) -> bool:
    """Whether, on a machine transcript, the surname staff use in `turn`
    may have been given and misheard: a surname given or asked for before
    (請問您貴姓, itself heard as 貴心 at times), or a short caller reply just
    before the turn. Otherwise there was no answer to mishear."""
    place = t.position[turn]
    if found.held or any(t.position[given] < place for given in found.given):
        return True
    if any(t.position[h.utterance] < place for h in t.find("ask_name", "staff")):
        return True
    before = [i for i in t.order[:place] if t.speakers[i] == "customer"][-1:]
    return bool(before) and len(t.norms[before[0]]) <= SHORT_REPLY_CHARS


def check_use_caller_name(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    found = names(call, t)
    own = found.caller_surnames
    if not own:
        return not_applicable("the caller's surname is not known")
    for address in found.addresses:
        if same_surname(address.surname, own):
            return passed(f"addressed the caller as {address.words}", t.turn(address.turn))
    return failed("knew the caller's surname but never addressed them by it")


def check_polite_expressions(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    used: list[tuple[str, Hit]] = []
    for expression, list_name in call.compiled.polite:
        hit = t.first(list_name, "staff")
        if hit is not None:
            used.append((expression, hit))
    need = call.policy.speech.min_polite_expressions
    listed = "、".join(e for e, _ in used) or "none"
    message = f"used {len(used)} of §7's polite expressions: {listed}"
    if len(used) < need:
        # A recogniser may drop or mishear one of them, not two; nor one
        # whose sound is nowhere in what staff said.
        heard = {expression for expression, _ in used}
        unused = [name for expression, name in call.compiled.polite if expression not in heard]
        return failed(
            f"{message} (< {need})",
            *(t.evidence(h) for _, h in used),
            beyond_mishearing=need - len(used) >= 2 or not maybe_misheard(call, t, unused, t.staff),
        )
    # The first `need` of them are what decide the pass.
    return passed(f"{message} (≥ {need})", *(t.evidence(h) for _, h in used[:need]))


def _caller_details(t: Transcript) -> list[tuple[int, str, str]]:
    """The numbers, dates, times, amounts and counts the caller gave: (turn,
    key, words). Left out: numbers mentioned in passing (a hotline, the
    club's own line, a house number, a year) and a detail the staff said
    first, which the caller only echoes (那就週六見 after the staff's recap)."""
    found = _details_of(t, t.customer)
    return [(turn, key, words) for turn, key, words in found if not _staff_said_first(t, turn, key)]


def _staff_said_first(t: Transcript, turn: int, key: str) -> bool:
    """Whether a staff turn before `turn` already said the detail `key`."""
    place, position = t.position[turn], t.position
    if key.isdigit():
        return any(key in digits for s, digits in _staff_digits(t) if position[s] < place)
    sum_key = _DETAIL_KEY.fullmatch(key) is not None
    if t.in_order and not sum_key:  # the words before the turn are the earlier turns
        said = _staff_sayings(t, key)
        return bool(said) and said[0][0] < t.starts[turn]
    earlier = [s for s in t.staff if position[s] < place]
    if not earlier:
        return False
    if sum_key:
        return any(_same_detail(key, said.key) for s in earlier for said in _sums_in(t, s))
    sayings, closed = _sayings(key)
    for s in earlier:
        text = t.norms[s]
        for words in sayings:
            at = text.find(words)
            while at >= 0 and not _said_at(text, at, words, closed):
                at = text.find(words, at + 1)
            if at >= 0:
                return True
    return False


def _staff_digits(t: Transcript) -> list[tuple[int, str]]:
    """(turn, every digit said in it) of each staff turn, worked out once."""
    cached: list[tuple[int, str]] | None = t.memo.get("staff_digits")
    if cached is None:
        cached = t.memo["staff_digits"] = [(s, spoken_digits(t.texts[s])) for s in t.staff]
    return cached


def _sums_in(t: Transcript, turn: int) -> list[details.Said]:
    """The amounts and counts said in one staff turn (一千二 without its unit
    too), worked out once."""
    key = f"sums:{turn}"
    cached: list[details.Said] | None = t.memo.get(key)
    if cached is None:
        cached = t.memo[key] = details.amounts_and_counts(t.norms[turn], bare="any")
    return cached


def _details_of(t: Transcript, turns: list[int]) -> list[tuple[int, str, str]]:
    """The details said in `turns` and given to be taken down: (turn, key,
    words), in time order."""
    if not turns:
        return []
    found: list[tuple[int, str, str]] = []
    texts, norms = t.texts, t.norms
    raw = SEP.join([texts[i] for i in turns])
    raw_starts = list(accumulate([len(texts[i]) + 1 for i in turns[:-1]], initial=0))
    for start, end, digits in details.digit_runs(raw):
        if details.unit_follows(raw, end) or details.is_year(raw, end, digits):
            continue  # 1500元: an amount, read below; 2025年: a year
        k = bisect.bisect_right(raw_starts, start) - 1
        local = raw[raw_starts[k] : start]
        if details.passing_number(local, len(local), digits) or details.is_house_number(raw, start):
            continue  # a hotline, the club's own line, a house number
        found.append((turns[k], _key(digits), digits))
    joined = SEP.join([norms[i] for i in turns])
    starts = list(accumulate([len(norms[i]) + 1 for i in turns[:-1]], initial=0))
    for match in _MARKERS.finditer(joined):
        at = match.start()
        end = at + (1 if joined[at] in _MARKER_KIND else 2)
        when = read_when(joined, at, end)
        if when is None or (
            when[0].startswith("D") and details.is_house_number(joined, end - len(when[1]))
        ):
            continue  # 新樓路31號: an address, not a day of the month
        if _replaced(joined, at, when[1]):
            continue  # 從禮拜二改到禮拜四: the old slot goes, only the new is taken down
        if _names_a_class(joined, at, when[1]):
            continue  # 禮拜六早上十點那堂: which class it was, not a slot to take down
        found.append((turns[bisect.bisect_right(starts, at) - 1], when[0], when[1]))
    for said in details.amounts_and_counts(joined):
        found.append((turns[bisect.bisect_right(starts, said.start) - 1], said.key, said.words))
    return sorted(found, key=lambda d: t.position[d[0]])


_CHANGED_TO = re.compile("(?:改|換|换|調|调)(?:到|成|為|为)?")


def _replaced(text: str, at: int, words: str) -> bool:
    """Whether the time `words`, said at `at`, is the one a change leaves
    (從X改到Y, 从X换成Y): that one is not given to be taken down."""
    begin = text.find(words, max(0, at - 2))
    if begin < 0 or begin > at + 2:
        return False
    return text[begin - 1 : begin] in ("從", "从") and bool(
        _CHANGED_TO.match(text, begin + len(words))
    )


# The day and hour of a class, said to say which one it was (十點那堂飛輪,
# 禮拜六早上十點那堂): the words that may follow the date or time, then 那堂.
_CLASS_REFERENCE = re.compile(
    "[早上中下午晚傍凌晨點点半分0-9零一二兩两三四五六七八九十 ]{0,8}那(?:一)?(?:堂|節|节|場|场|班)"
)
# Words of booking, changing or cancelling a class: its slot is taken down.
_BOOKING = re.compile("約|约|預|预|報名|报名|訂|订|改|換|换|排|取消|要上|想上|幫我|帮我")


def _names_a_class(text: str, at: int, words: str) -> bool:
    """Whether the date or time `words`, said at `at`, only says which class
    the caller means (那堂), in a turn that books, changes or cancels nothing."""
    begin = text.find(words, max(0, at - 2))
    if begin < 0 or begin > at + 2:
        return False
    if not _CLASS_REFERENCE.match(text, begin + len(words)):
        return False
    turn_start = text.rfind(SEP, 0, begin) + 1
    turn_end = text.find(SEP, begin)
    return _BOOKING.search(text, turn_start, turn_end if turn_end >= 0 else len(text)) is None


def _same_detail(caller: str, staff: str) -> bool:
    """Whether the staff's detail `staff` says the caller's `caller` again:
    the same key, or for an amount or count the same unit and a value the
    caller's covers (兩三天 read back as 三天, 兩千多 as 兩千)."""
    if caller == staff:
        return True
    if caller[:1] not in "AC" or caller[:1] != staff[:1]:
        return False
    a, b = _value_and_unit(caller), _value_and_unit(staff)
    if a is None or b is None or a[2] != b[2]:
        return False
    return a[0] <= b[0] and b[1] <= a[1]


_DETAIL_KEY = re.compile(r"([AC])(\d+)(?:-(\d+))?(\+?)(.*)")


def _value_and_unit(key: str) -> tuple[int, int, str] | None:
    match = _DETAIL_KEY.fullmatch(key)
    if match is None:
        return None
    low = int(match.group(2))
    high = int(match.group(3)) if match.group(3) else low
    return low, high, match.group(5)


def _key(digits: str) -> str:
    """Numbers compare without a country code or trunk 0 (+886 912… = 0912…);
    a number of zeros alone stays as it is."""
    return normalise_phone(digits) or digits


def _chinese(value: int) -> str:
    """5 as 五, 12 as 十二, 23 as 二十三, 120 as 一百二十, 105 as 一百零五
    (from 1000 on, digits)."""
    if value >= 1000:
        return str(value)
    if value >= 100:
        hundreds, rest = divmod(value, 100)
        head = _CN_NUMERAL[hundreds] + "百"
        if not rest:
            return head
        if rest < 10:
            return head + "零" + _CN_NUMERAL[rest]
        return head + ("一" if rest < 20 else "") + _chinese(rest)
    if value < 10:
        return _CN_NUMERAL[value]
    tens, ones = divmod(value, 10)
    return ("" if tens == 1 else _CN_NUMERAL[tens]) + "十" + (_CN_NUMERAL[ones] if ones else "")


@lru_cache(maxsize=512)
def _sayings(key: str) -> tuple[tuple[str, ...], bool]:
    """Every usual way of saying the date or time `key` (see read_when), and
    whether what follows must not go on with it (三點 is not 三點半)."""
    if key.startswith("W"):
        day = int(key[1:])
        names = ("日", "天") if day == 7 else (_CN_NUMERAL[day],)
        prefixes = ("週", "周", "星期", "禮拜", "礼拜")
        return tuple(p + n for p in prefixes for n in (*names, str(day))), False
    if key.startswith("D"):
        value = int(key[1:])
        return tuple(v + u for v in (str(value), _chinese(value)) for u in "號号日"), False
    if ":" in key:
        hour, minute = (int(part) for part in key.split(":"))
        hours = {str(hour), _chinese(hour)} | {_chinese(hour).replace("二", two) for two in "兩两"}
        said = [h + u for h in hours for u in "點点"]
        if minute == 0:
            return tuple(said), True
        minutes = {str(minute), _chinese(minute)} | ({"半"} if minute == 30 else set())
        return tuple(h + m for h in said for m in minutes), True
    return script_forms(key), False


def _said_at(text: str, at: int, words: str, closed: bool) -> bool:
    """Whether `words` found at `at` stand on their own: no numeral before
    (十三點 is not 三點) and, when `closed`, none or 半 after (七點半 is
    closed by its 半: 七點半兩堂 is 七點半, then 兩堂)."""
    if at > 0 and (text[at - 1] in _NUMERALS or text[at - 1] in "百千"):
        return False
    if words.endswith("半"):
        return True
    after = text[at + len(words) : at + len(words) + 1]
    return not (closed and after and (after in _NUMERALS or after == "半"))


def _echo(t: Transcript, turn: int, key: str) -> int | None:
    """The first staff turn after `turn` that says the detail `key` again."""
    if _DETAIL_KEY.fullmatch(key):  # an amount or a count
        for staff_turn in t.later(turn, t.staff):  # 一千二 too, read back without its unit
            if any(_same_detail(key, said.key) for said in _sums_in(t, staff_turn)):
                return staff_turn
        return None
    if key.isdigit():
        place, position = t.position[turn], t.position
        for staff_turn, digits in _staff_digits(t):
            if position[staff_turn] > place and key in digits:
                return staff_turn
        return None
    sayings, closed = _sayings(key)
    if not t.in_order:  # text order is not time order: look turn by turn
        for staff_turn in t.later(turn, t.staff):
            text = t.norms[staff_turn]
            for words in sayings:
                at = text.find(words)
                while at >= 0 and not _said_at(text, at, words, closed):
                    at = text.find(words, at + 1)
                if at >= 0:
                    return staff_turn
        return None
    said = _staff_sayings(t, key)  # in time order: the first after the turn's start
    k = bisect.bisect_left(said, (t.starts[turn], -1))
    return said[k][1] if k < len(said) else None


def _staff_sayings(t: Transcript, key: str) -> list[tuple[int, int]]:
    """(position in `joined`, turn) of every place a staff turn says the
    date or time `key`, in text order, for a transcript in time order:
    worked out once per key, for every detail and read-back that asks."""
    memo = f"sayings:{key}"
    cached: list[tuple[int, int]] | None = t.memo.get(memo)
    if cached is not None:
        return cached
    sayings, closed = _sayings(key)
    joined, speakers, found = t.joined, t.speakers, []
    for words in sayings:
        at = joined.find(words)
        while at >= 0:
            turn = t.turn_at(at)
            if speakers[turn] == "staff" and _said_at(joined, at, words, closed):
                found.append((at, turn))
            at = joined.find(words, at + 1)
    found.sort()
    t.memo[memo] = found
    return found


def _recorded_phones(call: Call) -> set[str]:
    """The contact numbers of the record's memos and tasks, digits only."""
    record = call.record
    phones = [m.phone for m in record.memos] + [task.phone for task in record.tasks]
    return {p for p in (normalise_phone(x) for x in phones if x) if p and len(p) >= 6}


def _reads_other(t: Transcript, turn: int, key: str) -> bool:
    """Whether staff turn `turn` reads out digits that are not the caller's
    number `key`: part of it (尾數三三九對吧) or a misheard one (七九八 for
    七八九). Asking 對嗎 after them confirms only what was read."""
    if not key.isdigit():
        return False
    digits = dict(_staff_digits(t)).get(turn, "")
    return len(digits) >= 3 and key not in digits


# How alike a machine-heard read-back's digits and the caller's number must
# be to be that number misheard (0912345678 read back, heard as 09月 | 三四五六七八).
HEARD_CLOSE = 0.8  # a tail alone (三四五六七八 of 0912345678: 0.75) is not the number


# Below this similarity, digits read back are another number, not the
# caller's misheard (0987654321 for 0912345678: 0.3).
OTHER_NUMBER = 0.5


def _other_number(key: str, said: str) -> bool:
    """Whether digits read back are a wholly other number than the caller's
    `key`, as long as it and unlike it: no digit or two misheard, and no
    read-back whose digits the recogniser lost (09月 for 零九一二…)."""
    return len(said) >= len(key) - 2 and Indel.normalized_similarity(key, said) < OTHER_NUMBER


def _heard_close(t: Transcript, turn: int, key: str) -> bool:
    """On a machine transcript, whether staff turn `turn` (with the staff's
    next turn, where the recogniser split the read-back at a pause) reads
    out digits close to the caller's number `key`: the number misheard in
    the read-back or in the caller's own turn, not another number."""
    if not key.isdigit() or len(key) < 6:
        return False
    said = _read_back_digits(t, turn)
    return len(said) * 2 >= len(key) and Indel.normalized_similarity(key, said) >= HEARD_CLOSE


def _read_back_digits(t: Transcript, turn: int) -> str:
    """The digits staff turn `turn` reads out, with those of the staff's
    next turn when no one spoke between (a recogniser splits at a pause)."""
    digits = dict(_staff_digits(t))
    said = digits.get(turn, "")
    place = t.position[turn]
    if place + 1 < len(t.order) and t.speakers[t.order[place + 1]] == "staff":
        said += digits.get(t.order[place + 1], "")
    return said


# Staff asking the caller to say a detail again, or slower, so it can be
# taken down (§4(7) 請對方復述, §4(8) 請對方放慢).
_ASK_TO_REPEAT = both_scripts(
    "(?:再|重新)(?:跟我|给我|帮我|对我)?(?:念|读|说|讲|报|重复|复述)(?:一)?(?:次|遍|下)"
    "|(?:重复|复述)(?:一)?(?:次|遍|下)"
    "|(?:念|读|说|讲|报)慢(?:一)?(?:点|些)|慢(?:一)?(?:点|些)?(?:念|读|说|讲|报)"
)
_ASK_TO_REPEAT_GATE = Gate("再念 再读 再说 再讲 再报 再跟我 再给我 再帮我 再对我 重新 重复 复述 慢")


def _repeat_asks(t: Transcript) -> list[int]:
    """The staff turns asking the caller to say something again, in text order."""
    return [
        i
        for i in _ASK_TO_REPEAT_GATE.turns(t)
        if t.speakers[i] == "staff" and _ASK_TO_REPEAT.search(t.norms[i])
    ]


def _said_again_on_request(
    t: Transcript, details: list[tuple[int, str, str]]
) -> dict[tuple[int, str], int]:
    """The details a caller said again because staff asked them to (麻煩您再唸一次):
    both sayings, mapped to the staff turn that asked. Having the caller
    repeat it is the SOP's own way of confirming a detail."""
    asks = _repeat_asks(t)
    if not asks:
        return {}
    place = t.position
    out: dict[tuple[int, str], int] = {}
    for ask in asks:
        before = [d for d in details if place[d[0]] < place[ask]]
        after = [d for d in details if place[d[0]] > place[ask]]
        for first in before:
            again = next((d for d in after if _same_detail(first[1], d[1])), None)
            if again is not None:
                out.setdefault((first[0], first[1]), ask)
                out.setdefault((again[0], again[1]), ask)
    return out


def _caller_repeated_on_request(t: Transcript) -> tuple[int, int] | None:
    """(staff turn, caller turn) where staff asked the caller to say details
    back and the caller said again what staff had given (a time, an address)."""
    for ask in _repeat_asks(t):
        place = t.position[ask]
        reply = next((c for c in t.customer if t.position[c] > place), None)
        if reply is not None and any(
            _staff_said_first(t, reply, key) for _, key, _ in _details_of(t, [reply])
        ):
            return ask, reply
    return None


def check_repeat_back(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    details = _caller_details(t)
    confirms = [h.utterance for h in t.find("repeat_confirm", "staff")]
    if not details:
        # The number on the record read out for the caller to confirm
        # (您的電話是零九一零…對嗎): a detail recorded, and confirmed.
        recorded = _recorded_phones(call)
        for turn in confirms:
            digits = dict(_staff_digits(t)).get(turn, "")
            if digits and any(phone in digits for phone in recorded):
                return passed("read the recorded number back to confirm it", t.turn(turn))
        # The details agreed on the call, said first by staff, read back to be
        # confirmed (跟您確認一下 下週二晚上七點).
        for turn in confirms:
            if _details_of(t, [turn]):
                return passed("read the agreed details back to confirm them", t.turn(turn))
        # Staff gave the details and had the caller say them back (您再跟我念一遍).
        repeated_back = _caller_repeated_on_request(t)
        if repeated_back is not None:
            ask, turn = repeated_back
            return passed("had the caller repeat the details back", t.turn(ask), t.turn(turn))
        return not_applicable("the caller gave no number, date or time")
    repeated: dict[tuple[int, str], int] | None = None  # worked out only if needed
    answers: list[int] = []
    for turn, key, words in details:
        answer = _echo(t, turn, key)
        if answer is None:
            place = t.position[turn]
            answer = next(
                (c for c in confirms if t.position[c] > place and not _reads_other(t, c, key)),
                None,
            )
        if answer is None:
            if repeated is None:
                repeated = _said_again_on_request(t, details)
            answer = repeated.get((turn, key))
        if answer is None and call.speech_source == "machine":
            answer = next(
                (c for c in confirms if t.position[c] > place and _heard_close(t, c, key)), None
            )
        if answer is None:
            misread = next(
                (c for c in confirms if t.position[c] > place and _reads_other(t, c, key)), None
            )
            if misread is not None:
                other = dict(_staff_digits(t))[misread]
                return failed(
                    f"the caller gave {words} at {t.utterances[turn].start:g} s; "
                    f"staff read back other digits ({other})",
                    t.turn(turn),
                    t.turn(misread),
                    beyond_mishearing=_other_number(key, _read_back_digits(t, misread)),
                )
            # Nothing read back at all is no misheard read-back.
            return failed(
                f"the caller gave {words} at {t.utterances[turn].start:g} s; "
                "staff never read it back or asked to confirm",
                t.turn(turn),
                beyond_mishearing=True,
            )
        if answer not in answers:
            answers.append(answer)
    evidence = [t.turn(answer) for answer in answers[:5]]
    return passed(f"read back or confirmed {len(details)} detail(s)", *evidence)


def check_recap_key_points(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    minimum = call.policy.speech.min_talk_for_recap_s
    talk = t.talk_s
    if talk <= minimum:
        return not_applicable(f"{seconds(talk)} of talk (≤ {seconds(minimum)})")
    # A listed lead-in counts where something of the call is restated
    # after it, in its turn or the staff's next (跟您確認 in 收到會打電話跟您確認
    # only promises a call), or where it asks the caller to confirm what
    # follows (跟您確認一下，您的電話是…對嗎).
    hits = [
        h
        for h in t.find("recap", "staff")
        if restates_something(t, h.utterance, h.end)
        or _CONFIRM_TAG.search(t.norms[h.utterance], h.end)
    ]
    if hits:
        return passed(f"recapped the key points ({hits[-1].phrase})", t.evidence(hits[-1]))
    # A recap in the staff's own words: a late turn restating key terms of
    # several earlier turns (也就是說…, or the fix and the next step).
    said = recap(t)
    if said is None:
        return failed(f"{seconds(talk)} of talk and no recap of the key points")
    how = f" after {said.marker}" if said.marker else ""
    return passed(
        f"restated the key points in their own words{how} "
        f"({len(said.terms)} key terms of {said.sources} earlier turns)",
        t.turn(said.turn),
    )


def check_ask_to_continue(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    tl = call.timeline
    if tl.answered is None or tl.hangup is None:
        return not_applicable("no answer or hang-up event to measure the call")
    after = call.policy.timing.ask_to_continue_after_s
    length = tl.hangup.t - tl.answered.t
    if length <= after:
        return not_applicable(f"call of {seconds(length)} (≤ {seconds(after)})")
    t = speech(call)
    if isinstance(t, Outcome):
        return t
    from_t = tl.answered.t + after
    hits = t.find("ask_to_continue", "staff")
    late = [h for h in hits if t.utterances[h.utterance].start >= from_t]
    if late:
        return passed(
            f"asked to go on at {seconds(t.utterances[late[0].utterance].start - tl.answered.t)}",
            t.evidence(late[0]),
        )
    if hits:
        when = seconds(t.utterances[hits[0].utterance].start - tl.answered.t)
        return failed(f"asked at {when}, before {seconds(after)}; not again", t.evidence(hits[0]))
    return failed(f"call of {seconds(length)}; never asked whether to go on")


def check_dont_guess_answers(call: Call) -> Outcome:
    t = _speech_answered(call)
    if isinstance(t, Outcome):
        return t
    unsure = t.first("dont_know", "staff")
    if unsure is None:
        return not_applicable("staff never said they did not know")
    later = [unsure.utterance, *t.later(unsure.utterance, t.staff)]
    offer = t.first("offer_colleague", later)
    if offer is None:
        return failed(f"said {unsure.phrase} and offered no colleague", t.evidence(unsure))
    asked = t.first("consent", [offer.utterance])
    if asked is not None:
        return passed(
            f"offered a colleague ({offer.phrase}) and asked ({asked.phrase})", t.evidence(offer)
        )
    reply = next(iter(t.later(offer.utterance, t.customer)), None)
    if reply is not None and t.first("refuse", [reply]) is None:
        agreed = t.first("agree", [reply])
        if agreed is not None:
            return passed(
                f"offered a colleague ({offer.phrase}); the caller agreed",
                t.evidence(offer),
                t.evidence(agreed),
            )
    return failed(
        f"offered a colleague ({offer.phrase}) without the caller's consent", t.evidence(offer)
    )


RULES = (
    Rule(
        id="talk.no-filler-strings",
        clause="4(9)",
        title="不連用「對對對」",
        sources=("speech",),
        applies="answered calls",
        checks="no staff turn strings the same filler (對／是／嗯／好) 3 or more times in a row",
        applies_zh="已接通的通話",
        checks_zh="館員每句話都沒有把同一個應答語（對／是／嗯／好）連說 3 次以上",
        why="不要用怪腔怪調及連續用「對……對……」，「是……是……」等。",
        options=("phrases.fillers", "speech.filler_repeats"),
        check=check_no_filler_strings,
    ),
    Rule(
        id="talk.no-arguing",
        clause="3(7)",
        title="不與客戶爭執",
        sources=("speech",),
        applies="answered calls",
        checks="staff never contradicts or blames the customer (你錯了／不可能／這不是我們的問題／你聽我說…), "
        "nor pushes back at a caller who sounds upset, or on a complaint call "
        "(但是我們確實沒有看到／我們查不到就沒辦法／剛才跟你說了)",
        applies_zh="已接通的通話",
        checks_zh="館員從不反駁或指責客戶（你錯了／不可能／這不是我們的問題／你聽我說…），"
        "也不對聽來不滿的客戶或客訴來電頂回去（但是我們確實沒有看到／我們查不到就沒辦法／剛才跟你說了）",
        why="不要在電話裏與客戶爭執，即使客戶提出錯誤的觀點。",
        options=("phrases.arguing",),
        check=check_no_arguing,
    ),
    Rule(
        id="talk.never-guess-name",
        clause="2.3(10)",
        title="不猜測對方姓名",
        sources=("speech", "record"),
        applies="answered calls",
        checks="staff never addresses anyone by a surname and title (王先生) that neither the "
        "caller said earlier nor the record already held (customer.known, the plan's salutation)",
        applies_zh="已接通的通話",
        checks_zh="館員從不以來電者先前沒說過、紀錄也沒有的姓氏加稱謂（王先生）稱呼任何人"
        "（紀錄指 customer.known、計畫中的稱呼）",
        why="對方的姓名決不能胡亂猜測。",
        options=("phrases.surnames", "phrases.titles", "phrases.caller_name_given"),
        check=check_never_guess_name,
    ),
    Rule(
        id="talk.use-caller-name",
        clause="4(13)",
        title="記住並稱呼對方姓名",
        sources=("speech",),
        applies="answered calls where the caller's surname is known (the policy's surnames "
        "and those of Taiwan's and the mainland's household registers, in both scripts)",
        checks="staff addresses the caller by surname and title at least once",
        applies_zh="已知來電者姓氏的已接通通話（設定的姓氏，加上臺灣與大陸戶籍常見姓氏，繁簡皆可）",
        checks_zh="館員至少一次以姓氏加稱謂稱呼來電者",
        why="要記住對方姓名，在交談中用名字稱呼對方。",
        options=("phrases.surnames", "phrases.titles"),
        check=check_use_caller_name,
    ),
    Rule(
        id="talk.polite-expressions",
        clause="7",
        title="使用禮貌用語",
        sources=("speech",),
        applies="answered calls",
        checks="staff uses at least 3 distinct expressions from §7's list (with variants)",
        applies_zh="已接通的通話",
        checks_zh="館員至少使用 3 種不同的 §7 禮貌用語（含類似說法）",
        why="禮貌用語：貴姓、貴公司、貴方、您好、請稍候、多謝、對不起、沒關係、打擾了、再見。",
        options=("phrases.polite", "speech.min_polite_expressions"),
        check=check_polite_expressions,
    ),
    Rule(
        id="talk.repeat-back",
        clause="4(7), 1.3(7)",
        title="重要資訊請對方復述",
        sources=("speech",),
        applies="answered calls where the caller gave a number, a date or a time, an amount "
        "or a count (八元, 兩三天, 三個月, 四個人), in digits or in words; not a house number, "
        "a hotline or the club's own line mentioned in passing, nor an echo of what staff said first",
        checks="after each such detail, staff repeats it back (in any grouping: 0912-345-678 "
        "or 零九一二三四五六七八; 一千五百元 as 1500元) or asks the caller to confirm it",
        applies_zh="來電者提供號碼、日期或時間、金額或數量（八元、兩三天、三個月、四個人；"
        "數字或國字皆可）的已接通通話；順口提到的門牌、專線（1999）、會館總機，"
        "或只是附和館員先說的內容，都不算",
        checks_zh="每項此類資料之後，館員都複述一次（分組不拘：0912-345-678 "
        "或 零九一二三四五六七八；一千五百元說成 1500元 亦可），或請來電者確認",
        why="明確告訴對方是否需要記錄，如需記錄請對方復述一遍。",
        options=("phrases.repeat_confirm",),
        check=check_repeat_back,
    ),
    Rule(
        id="talk.recap-key-points",
        clause="1.4(3)",
        title="重點事情要重述",
        sources=("speech",),
        applies="answered calls with more than 60 s of talk",
        checks="staff restates the key points (跟您確認一下／我再重複一次／事情是這樣的, followed "
        "by two or more key terms said earlier), or in their own words: a turn in the second half "
        "of the call that restates key terms said in at least two earlier turns, the customer's "
        "among them (four terms; two after a lead-in such as 也就是說／那就是因為)",
        applies_zh="談話超過 60 秒的已接通通話",
        checks_zh="館員重述重點（跟您確認一下／我再重複一次／事情是這樣的，其後重提先前說過的"
        "兩個以上重點詞），或用自己的話："
        "通話後半的一句話，重提先前至少兩句（含客戶說的）中的重點詞（四個；"
        "以「也就是說／那就是因為」等開頭則兩個即可）",
        why="重點事情要重述，雙方都一樣。如：請原諒，您聽得清楚嗎？事情是這樣的……",
        options=("speech.min_talk_for_recap_s", "phrases.recap"),
        check=check_recap_key_points,
    ),
    Rule(
        id="talk.ask-to-continue",
        clause="1.4(7)",
        title="長通話詢問是否方便",
        sources=("speech", "events"),
        applies="answered calls of more than 5 minutes from answer to hang-up",
        checks="at or after 5 minutes from the answer, staff asks whether it is convenient to go on "
        "(方便繼續嗎／現在方便講話嗎)",
        applies_zh="從接聽到掛斷超過 5 分鐘的已接通通話",
        checks_zh="接聽滿 5 分鐘起，館員詢問是否方便繼續（方便繼續嗎／現在方便講話嗎）",
        why="耗時的電話要詢問對方是否方便繼續通話。",
        options=("timing.ask_to_continue_after_s", "phrases.ask_to_continue"),
        check=check_ask_to_continue,
    ),
    Rule(
        id="talk.dont-guess-answers",
        clause="4(5)",
        title="不懂不亂講，找同事解答",
        sources=("speech",),
        applies="calls where staff says they do not know (我不清楚／不確定)",
        checks="staff offers to get a colleague who knows, asking the caller's consent "
        "(…好嗎) or with the caller agreeing",
        applies_zh="館員表示不清楚的通話（我不清楚／不確定）",
        checks_zh="館員提議請了解的同事協助，並徵詢來電者同意（…好嗎）或來電者表示同意",
        why="對方一定要諮詢的而且是你不瞭解的事情時，須征得對方同意後，馬上為對方找到一個可以解釋明瞭的同事過來接聽電話。",
        options=(
            "phrases.dont_know",
            "phrases.offer_colleague",
            "phrases.consent",
            "phrases.agree",
            "phrases.refuse",
        ),
        check=check_dont_guess_answers,
    ),
)
