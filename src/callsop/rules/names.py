"""Who was called what: surnames as the household registers hold them, and
the names staff and callers use on a call.

The policy's `phrases.surnames` is the club's own list; the register list
below is added to it, so 孟先生, 肖小姐 and 崔大哥 are names too.

Sources: the surnames of Taiwan's household register (內政部戶政司《全國姓名
統計分析》, the ranking of surnames by number of people) and of the
mainland's (公安部戶政管理研究中心《全國姓名報告》, the 百家姓 ranking of
registered residents): the most common of each, merged (294 single and 22
compound surnames, each once), written in Traditional script; matching adds
the Simplified forms (OpenCC). No package on PyPI keeps a surname list with
a named source, and pypinyin has no surname table, so the list is checked
against the classic 百家姓 instead: every single surname below is in it
except those the registers show are common now though the classic lacks
them (肖 付 覃 岳 遲 冼 栗 邸 曲 苟 諶 鄺 萇 溥 蘭 麥 練) or that are Taiwan's
(官 粘 辜 凃). Characters
that are also everyday words in front of a title or after 我是 are left out
on purpose, as in the policy's list: 和 有 是 於 于 向 把 中 老 小 大 家 台 女
男 新 副 位 那 會 明 常 全 花 路 包 單 司 時 成 應 管 關 衛 談 邊 廣 車 平 強 元 經 尚
戚 費 席 祖 國 師 (老先生, 我先生, 這位小姐, 我是明天…, 警衛伯伯, 櫃台小姐,
計程車大哥).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from callsop.engine.call import Call, Compiled
from callsop.engine.transcript import Transcript
from callsop.soundalike import syllables
from callsop.text import locate, normalise, script_forms, to_simplified

_REGISTER_SINGLE = (
    # Taiwan's register, most common first.
    "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余"
    "盧梁趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓阮馬董温溫唐藍石蔣古紀姚連馮歐程湯田康姜白"
    "汪鄒尤巫鐘黎涂凃龔嚴韓袁金童陸夏柳邵錢伍倪譚駱熊任甘秦顧毛章史官萬俞雷粘饒闕凌武孔"
    "尹崔辛辜陶段龍韋葛池孟褚殷麥賀賈莫練鄔左魯塗穆鮑蒲郝谷邢閻利梅裴樊房佘易"
    # The mainland's register, those not above.
    "肖付閆覃喬柴牛聶焦岳齊霍申祝舒耿寧祁翟安盛苗卜刁封滕宗景宮黨欒項冉米畢仇季諶竇宓芮"
    "聞藺屈湛鞏溥蓋桂厲鄺晏廉遲萇婁苟酆幸禹鄂樂曲查習沙晉闞隆"
    "蘭郎靳歸農榮戈艾嵇奚鄢佟麻竺扈"
    "喻柏岑皮卞狄貝龐茅閔虞裘繆郁杭吉荀甄儲糜井仲戎符束印宿蒙屠冀燕瞿茹衡寇冷敖晁鞠權逯桑臧"
    "鳳雲伊冼姬栗邸華"
)
_REGISTER_COMPOUND = (
    "張簡",
    "歐陽",
    "范姜",
    "司馬",
    "諸葛",
    "上官",
    "司徒",
    "東方",
    "夏侯",
    "皇甫",
    "慕容",
    "尉遲",
    "長孫",
    "公孫",
    "令狐",
    "軒轅",
    "端木",
    "西門",
    "南宮",
    "宇文",
    "澹臺",
    "呼延",
)
REGISTER_SURNAMES: tuple[str, ...] = (
    *dict.fromkeys(_REGISTER_SINGLE),
    *_REGISTER_COMPOUND,
)
# After 我姓 / 敝姓 a register surname always counts; after 我是 / 我叫 one
# the club's list does not hold needs a title or the end of the turn close
# behind it (我是孟先生, 我是孟慶華), since 我是… goes on in many ways.
_SURNAME_MARKERS = frozenset(
    ("我姓", "敝姓", "免贵姓", "我复姓", "复姓")
)  # Simplified, as compared


@lru_cache(maxsize=8)
def register_forms() -> frozenset[str]:
    """Every register surname, in both scripts."""
    return frozenset(f for s in REGISTER_SURNAMES for f in script_forms(s))


@lru_cache(maxsize=8)
def all_surnames(policy_surnames: frozenset[str]) -> frozenset[str]:
    """The policy's surnames and the register's, in both scripts."""
    return policy_surnames | register_forms()


def surname_before(surnames: frozenset[str], text: str, at: int) -> str | None:
    """The surname that ends at `at` in `text` (the 孟 of 孟先生), if any."""
    for size in (2, 1):
        if at >= size and text[at - size : at] in surnames:
            return text[at - size : at]
    return None


def surname_of(surnames: frozenset[str], name: str | None) -> str | None:
    """The surname a full name starts with (歐陽 before 歐), if it is one we know."""
    if not name:
        return None
    norm = normalise(name)
    for size in (2, 1):
        if norm[:size] in surnames:
            return norm[:size]
    return None


@dataclass(frozen=True)
class Address:
    """Staff calling someone by surname and title (王先生) in turn `turn`."""

    turn: int
    surname: str  # in Simplified script, to compare across scripts
    words: str  # as said
    known_then: bool  # the caller said it, or the record held it, before


@dataclass(frozen=True)
class Names:
    addresses: tuple[Address, ...]
    held: frozenset[str]  # surnames the record held before the call
    given: dict[int, frozenset[str]]  # turn -> surnames the caller gave in it (我姓王)

    @property
    def caller_surnames(self) -> frozenset[str]:
        """The caller's own surname(s): held by the record or given in speech."""
        return self.held.union(*self.given.values())


def _held_surnames(call: Call, surnames: frozenset[str]) -> set[str]:
    compiled, record = call.compiled, call.record
    held = set()
    if record.customer and record.customer.known:
        surname = surname_of(surnames, record.customer.name)
        if surname:
            held.add(to_simplified(surname))
    if record.plan and record.plan.salutation:
        held |= {
            to_simplified(s) for s in _addressed_in(compiled, surnames, record.plan.salutation)
        }
        surname = surname_of(surnames, record.plan.salutation)
        if surname:
            held.add(to_simplified(surname))
    return held


def _addressed_in(compiled: Compiled, surnames: frozenset[str], text: str) -> list[str]:
    """Surnames used with a title in `text` (a plan's salutation: 王先生)."""
    found = []
    norm = normalise(text)
    for phrase in compiled.book.lists["titles"]:
        at = norm.find(phrase.pieces[0])
        while at >= 0:
            surname = surname_before(surnames, norm, at)
            if surname:
                found.append(surname)
            at = norm.find(phrase.pieces[0], at + 1)
    return found


def _given_after(
    compiled: Compiled, surnames: frozenset[str], text: str, marker: str, end: int
) -> str | None:
    """The surname the caller gives right after `marker` (我姓, 我是) ending at `end`."""
    after = text[end : end + 2]
    strong = to_simplified(marker) in _SURNAME_MARKERS
    if strong and after and after[:2] not in surnames and after[:1] not in surnames:
        # 我姓 names a surname whatever follows: a rare one, or a
        # recogniser's homophone of one (我姓梦 for 我姓孟)
        return after[:1] if "\u4e00" <= after[:1] <= "\u9fff" else None
    for size in (2, 1):
        word = after[:size]
        if len(word) < size or word not in surnames:
            continue
        if word in compiled.surnames or strong:
            return word
        rest = text[end + size :]
        if len(rest) <= 2 or any(
            rest.startswith(p.pieces[0]) for p in compiled.book.lists["titles"]
        ):
            return word
    return None


# How far after 我是 a caller's introduction may name them: 我是宏達科技的李小姐.
_INTRODUCTION_CHARS = 16
# Staff speaking of a colleague (我們王經理, 轉給業務部王經理): these words up
# to this many characters before the surname make it no address.
_COLLEAGUE = re.compile("我們|我们|轉給|转给|轉接|转接|本館|本馆")
_COLLEAGUE_CHARS = 8
# ...unless 您 follows the title: 我們有三位女教練 陳小姐您是想減脂嗎 speaks to her.
_YOU = frozenset("您你妳")
# A wife introduced by her husband's name (我是沈家豪的太太) is addressed by
# his surname (沈太太); no other relation says what the caller is called.
_WIFE = re.compile("的(?:太太|夫人|老婆|牽手)")


def _given_in_introduction(
    compiled: Compiled, surnames: frozenset[str], text: str, end: int
) -> str | None:
    """The surname in a caller's introduction that does not start with it:
    a surname and title after 的 (我是宏達科技的李小姐), one after 姓 (我是會員
    姓孔), or a husband's full name before 的太太 (我是會員沈家豪的太太)."""
    window = text[end : end + _INTRODUCTION_CHARS]
    at = window.find("的")
    while at >= 0:
        rest = window[at + 1 :]
        for size in (2, 1):
            if rest[:size] in surnames and any(
                rest.startswith(p.pieces[0], size) for p in compiled.book.lists["titles"]
            ):
                return rest[:size]
        at = window.find("的", at + 1)
    at = window.find("姓")  # 我是會員 姓孔, 我是 複姓歐陽
    if at >= 0:
        for size in (2, 1):
            if window[at + 1 : at + 1 + size] in surnames:
                return window[at + 1 : at + 1 + size]
    wife = _WIFE.search(window)
    if wife is not None:
        before = window[: wife.start()]
        # A full name: a surname and two characters, most often, or one;
        # a two-character surname (歐陽) before those.
        for length, size in ((3, 1), (4, 2), (2, 1), (3, 2)):
            name = before[-length:]
            if len(name) == length and name[:size] in surnames:
                return name[:size]
    return None


def same_surname(surname: str, among: Iterable[str]) -> bool:
    """Whether `surname` (Simplified) is one of `among`, as written or as
    heard: a recogniser writes a surname by its sound as often as not (梦 for
    孟, 程 for 陳 is not: different sounds)."""
    if surname in among:
        return True
    heard = "".join(syllables(surname))
    return any("".join(syllables(other)) == heard for other in among)


def names(call: Call, t: Transcript) -> Names:
    """Who was called what on this call, worked out once for every rule."""
    cached: Names | None = t.memo.get("register_names")
    if cached is not None:
        return cached
    compiled = call.compiled
    surnames = all_surnames(compiled.surnames)
    held = _held_surnames(call, surnames)
    given: dict[int, set[str]] = {}
    for hit in t.find("caller_name_given"):
        if t.speakers[hit.utterance] == "staff":
            continue
        text = t.norms[hit.utterance]
        marker = text[hit.start : hit.end]
        if hit.end >= len(text):  # 我姓 | 孟: the name in the caller's next segment
            place = t.position[hit.utterance] + 1
            after = t.order[place] if place < len(t.order) else None
            if after is not None and t.speakers[after] == t.speakers[hit.utterance]:
                text = marker + t.norms[after]
                hit = hit._replace(start=0, end=len(marker))
        surname = _given_after(compiled, surnames, text, marker, hit.end)
        if surname is None:
            surname = _given_in_introduction(compiled, surnames, text, hit.end)
        if surname is not None:
            given.setdefault(hit.utterance, set()).add(to_simplified(surname))
    for turn in t.customer:  # 姓孟 孟子的孟: an answer to 請問您貴姓 that starts with 姓
        text = t.norms[turn]
        if text.startswith("姓") and turn not in given:
            surname = _given_after(compiled, surnames, text, "我姓", 1)
            if surname is not None:
                given.setdefault(turn, set()).add(to_simplified(surname))
    mentioned: dict[int, set[str]] = {}  # by the caller or a third person: 王先生在嗎
    said_by_staff: dict[int, list[tuple[str, str]]] = {}
    for hit in t.find("titles"):
        surname = surname_before(surnames, t.norms[hit.utterance], hit.start)
        if surname is None:
            continue
        turn = hit.utterance
        if t.speakers[turn] == "staff":
            start = hit.start - len(surname)
            norm = t.norms[turn]
            if norm[hit.end : hit.end + 1] not in _YOU and _COLLEAGUE.search(
                norm, max(0, start - _COLLEAGUE_CHARS), start
            ):
                continue  # 轉給我們業務王經理: a colleague spoken of, no one addressed
            words = locate(t.texts[turn], start, hit.end - start)
            said_by_staff.setdefault(turn, []).append((to_simplified(surname), words))
        else:
            mentioned.setdefault(turn, set()).add(to_simplified(surname))
    known = set(held)
    addresses = []
    for turn in sorted({*said_by_staff, *given, *mentioned}, key=t.position.__getitem__):
        for surname, words in said_by_staff.get(turn, ()):
            addresses.append(Address(turn, surname, words, same_surname(surname, known)))
        known |= given.get(turn, set()) | mentioned.get(turn, set())
    result = Names(tuple(addresses), frozenset(held), {k: frozenset(v) for k, v in given.items()})
    t.memo["register_names"] = result
    return result
