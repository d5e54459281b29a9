"""Details said in words: amounts, counts and durations in Chinese numerals,
and the numbers a caller mentions that are not given to be taken down.

Dates and times (五號, 三點半, 星期六) are read by `talk.read_when`; phone
numbers and other digit strings by `text.digit_spans`. This module adds what
those leave out and tells the numbers apart:

- an amount: a numeral with a unit of money (八元, 三百五十塊, 兩千五, 1500元);
- a count or duration: a numeral with a measure word (兩三天, 三個月, 五堂課,
  兩個人); a lone 一 (一天, 一次) is left out, as it is mostly a manner of
  speaking (有一天, 再打一次);
- not a detail: a house number (新樓路31號 is no day of the month), a year
  said alone (2025年入會), a hotline (1999, 165, 12345) and the club's own
  line (打你們總機02-2345-6789): numbers mentioned in passing, not given to
  be written down.

Numerals are read by a small converter of our own: 十一, 二十三, 三百五十,
兩千五 (two thousand five hundred, as people say it), 一萬二, 1千5, and the
spoken ranges 兩三, 五六 (key "2-3").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_DIGIT_VALUE = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "兩": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
} | {str(i): i for i in range(10)}
_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000, "萬": 10000, "万": 10000}
NUMERAL_CHARS = frozenset(_DIGIT_VALUE) | frozenset(_UNIT_VALUE)
_NUMERAL_RUN = re.compile("[0-9零〇一二兩两三四五六七八九十百千萬万]+")


def cn_number(text: str) -> int | None:
    """The value of a numeral: 八 8, 十一 11, 二十三 23, 三百五十 350,
    兩千五 2500, 一萬二 12000, 1千5 1500, 1500 1500, 三百零五 305.
    Without any unit (十百千萬) the digits are read one by one: 一二三 123.
    None when `text` is not one numeral (千千, 五五十)."""
    if not text or any(c not in NUMERAL_CHARS for c in text):
        return None
    if not any(c in _UNIT_VALUE for c in text):
        value = 0
        for c in text:
            value = value * 10 + _DIGIT_VALUE[c]
        return value
    total = section = 0
    digit: int | None = None  # a digit waiting for its unit
    last = 0  # the last unit said: 10, 100, 1000 or 10000
    small = 0  # the last unit within the current ten-thousand
    zero = False  # 零 said since the last unit
    for c in text:
        if c in _DIGIT_VALUE:
            value = _DIGIT_VALUE[c]
            if value == 0:
                zero = True
                continue
            if digit is not None:
                return None  # 五五十: two digits for one unit
            digit = value
            continue
        unit = _UNIT_VALUE[c]
        if unit == 10000:
            if total or (section == 0 and digit is None):
                return None
            total, section, digit, small = (section + (digit or 0)) * unit, 0, None, 0
        else:
            if small and unit >= small:
                return None  # 五十百: units go down
            if digit is None:
                if unit != 10:
                    return None  # 百 needs its digit
                digit = 1  # 十一, 一百一十
            section += digit * unit
            digit, small = None, unit
        last, zero = unit, False
    if digit is not None:
        # 兩千五 is 2500, 三百五 350, 一萬二 12000: a digit right after a unit
        # of a hundred or more, with no 零 between, counts in the unit below.
        section += digit * (last // 10) if last >= 100 and not zero else digit
    return total + section


def read_range(text: str) -> tuple[int, int] | None:
    """A spoken range of two neighbouring digits: 兩三 (2-3), 五六 (5-6)."""
    if len(text) == 2 and all(c in _DIGIT_VALUE and not c.isdigit() for c in text):
        low, high = _DIGIT_VALUE[text[0]], _DIGIT_VALUE[text[1]]
        if high == low + 1 and low >= 1:
            return low, high
    return None


# Units, longest first so 塊錢 wins over 塊. Simplified and Traditional.
_MONEY = ("塊錢", "块钱", "元", "塊", "块", "圓", "圆", "毛")
_MEASURES = {
    "個月": "月",
    "个月": "月",
    "個禮拜": "週",
    "个礼拜": "週",
    "個星期": "週",
    "个星期": "週",
    "禮拜": "週",
    "礼拜": "週",
    "星期": "週",
    "週": "週",
    "周": "週",
    "天": "天",
    "年": "年",
    "個小時": "小時",
    "个小时": "小時",
    "小時": "小時",
    "小时": "小時",
    "個鐘頭": "小時",
    "个钟头": "小時",
    "鐘頭": "小時",
    "钟头": "小時",
    "分鐘": "分鐘",
    "分钟": "分鐘",
    "個人": "人",
    "个人": "人",
    "人": "人",
    "位": "人",
    "堂": "堂",
    "節": "堂",
    "节": "堂",
    "張": "張",
    "张": "張",
    "歲": "歲",
    "岁": "歲",
    "間": "間",
    "间": "間",
    "份": "份",
    "期": "期",
    "件": "件",
    "台": "台",
    "臺": "台",
    "箱": "箱",
    "條": "條",
    "条": "條",
    "瓶": "瓶",
    "盒": "盒",
    "組": "組",
    "组": "組",
    "套": "套",
}
_WEEK_WORDS = frozenset(("禮拜", "礼拜", "星期", "週", "周"))
_AFTER_MEASURE = re.compile(
    "(" + "|".join(sorted((*_MONEY, *_MEASURES), key=len, reverse=True)) + ")"
)
# 星期六 and 週六 are days, not weeks: a measure word that a numeral follows
# is a date, which talk.read_when reads.
_DAY_AFTER = frozenset("一二三四五六日天0123456789")
# Words before a number that make it part of an address.
_ADDRESS_BEFORE = frozenset("路街巷弄段村里鄰邻道")
_HOTLINES = frozenset(
    (
        "110",
        "119",
        "112",
        "113",
        "165",
        "1999",
        "1950",
        "1955",
        "1957",
        "1925",
        "1922",
        "1966",
        "1988",
        "12345",
        "12315",
        "12306",
        "10086",
        "10010",
        "10000",
        "114",
    )
)
# A number right after these is the club's or some service's line, not the caller's.
_SERVICE_LINE_BEFORE = re.compile(
    "(你們|妳們|您們|你们|您们|貴館|贵馆|會館|会馆|總機|总机|客服|專線|专线|熱線|热线|服務台|服务台|櫃台|柜台|櫃檯|官網|官网)"
)
_OWN_NUMBER = re.compile("(我|本人)(的|家)?(手機|手机|電話|电话|號碼|号码|市話|市话)")
_AGO = re.compile("(前|之前|以前)")
_PAST = re.compile("(了|過|过|已經|已经|第)$")
_CALLED = re.compile("(打了|打过|打過|撥了|拨了|打到|撥到|拨到|打)$")


_DIGIT = "0-9\uff10-\uff19零〇一二三四五六七八九兩两幺"
_NUMBER = re.compile(f"[{_DIGIT}](?:[ \\-\u2010-\u2015.\uff0d]?[{_DIGIT}])+")
_SEPARATORS = re.compile("[ \\-\u2010-\u2015.\uff0d]")
_AS_DIGITS = str.maketrans(
    "零〇一二三四五六七八九兩两幺０１２３４５６７８９", "00123456789221" + "0123456789"
)


def digit_runs(text: str, min_digits: int = 4) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each number of `min_digits` digits or more in
    `text`, read as `text.digit_spans` reads them (0912-345-678 and
    零九一二三四五六七八 alike), with where each ends."""
    out = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        # A lone digit after a pause that runs on into words starts them: in
        # 三七零九二 零在九前面 the number is 三七零九二, and 零 is spoken of.
        if end < len(text) and text[end - 2 : end - 1] == " " and text[end].isalpha():
            end -= 2
        digits = _SEPARATORS.sub("", text[start:end]).translate(_AS_DIGITS)
        if len(digits) >= min_digits:
            out.append((start, end, digits))
    return out


@dataclass(frozen=True, slots=True)
class Said:
    """A detail found in one normalised text: chars [start, end), its kind
    (amount, count), its key (one key however it is said) and words."""

    start: int
    end: int
    kind: str
    key: str
    words: str


_UNIT_WORDS = "|".join(sorted((*_MONEY, *_MEASURES), key=len, reverse=True))
_NUMERALS_RUN = re.compile("[0-9零〇一二兩两三四五六七八九十百千萬万]+")
_UNIT_START = frozenset(w[0] for w in (*_MONEY, *_MEASURES))
_UNIT = re.compile(_UNIT_WORDS)
_HUNDREDS = frozenset("百千萬万")
_APPROX = frozenset("多幾几")
# A sum said without its unit is one after a word of paying (轉一千二過去,
# 刷了三千六, 被扣了一千八, 一筆一千八), in hundreds or more.
_PAYING = re.compile("(轉|转|匯|汇|付|繳|缴|交|刷|退|花|賠|赔|扣|筆|笔|儲值|储值)(了|過|过)?$")


@lru_cache(maxsize=4096)
def _reading(numeral: str, approx: str, word: str) -> tuple[str, str] | None:
    """(kind, key) of a numeral and the unit after it, or None when they
    make no detail (一天, 2025年, 星期 read as a week)."""
    spread = read_range(numeral)
    if spread is not None:
        value_key, small = f"{spread[0]}-{spread[1]}", False
    else:
        value = cn_number(numeral)
        if value is None:
            return None
        value_key, small = str(value), value <= 1
    plus = "+" if approx else ""
    if not word:  # no unit: a sum only in hundreds or more, and said as one
        if approx or spread is not None or not _HUNDREDS.intersection(numeral) or small:
            return None
        return "bare", f"A{value_key}"
    if word in _MONEY:
        return None if value_key == "0" else ("amount", f"A{value_key}{plus}")
    if small or (word == "年" and len(numeral) >= 3 and spread is None):
        return None  # 一天, 一次: a manner of speaking; 2025年, 一九九九年: a year
    return "count", f"C{value_key}{plus}{_MEASURES[word]}"


def amounts_and_counts(text: str, bare: str = "paying") -> list[Said]:
    """The amounts and counts said in normalised `text`. A sum without its
    unit counts after a word of paying (`bare` "paying"), anywhere ("any":
    a clerk reading back 一千二) or never ("none")."""
    found = []
    for match in _NUMERALS_RUN.finditer(text):
        numeral = match.group(0)
        stop = match.end()
        approx = text[stop : stop + 1]
        if approx in _APPROX:
            stop += 1
        else:
            approx = ""
        word = ""
        if text[stop : stop + 1] in _UNIT_START:
            unit = _UNIT.match(text, stop)
            if unit is not None:
                word, stop = unit.group(0), unit.end()
        elif not _HUNDREDS.intersection(numeral):
            continue  # a lone numeral: 一下, 三民路
        start = match.start()
        if not word:
            stop = match.end()
        reading = _reading(numeral, approx, word)
        if reading is None:
            continue
        kind, key = reading
        if kind == "bare":
            if bare == "none" or (
                bare == "paying" and not _PAYING.search(text[max(0, start - 3) : start])
            ):
                continue
            kind = "amount"
        elif word in _WEEK_WORDS and text[stop : stop + 1] in _DAY_AFTER:
            continue  # 星期六: a day
        elif kind == "count" and (
            _PAST.search(text[max(0, start - 3) : start]) or _AGO.match(text, stop)
        ):
            continue  # 等了三天, 兩年前來過: the caller's story, not a detail to note
        found.append(Said(start, stop, kind, key, text[start:stop]))
    return found


def is_house_number(text: str, left: int) -> bool:
    """Whether the numeral starting at `left` in normalised `text` follows an
    address word (新樓路31號, 三段五號, 十二巷三弄)."""
    return left > 0 and text[left - 1] in _ADDRESS_BEFORE


def passing_number(text: str, start: int, digits: str) -> bool:
    """Whether the digit string `digits` at `start` in normalised `text` is a
    number mentioned in passing, not one given to be taken down: a hotline,
    a toll-free or service line, or the club's own line (打你們總機02…)."""
    toll_free = digits.startswith(("0800", "0809", "400", "800", "95"))
    if digits in _HOTLINES or (toll_free and len(digits) in (5, 10)):
        return True
    before = text[max(0, start - 10) : start]
    lines = list(_SERVICE_LINE_BEFORE.finditer(before))
    if lines and not _OWN_NUMBER.search(before[lines[-1].end() :]):
        return True
    # 打1999, 撥了110: a number called, when it is short like a hotline
    return len(digits) <= 5 and bool(_CALLED.search(before))


def is_year(text: str, end: int, digits: str) -> bool:
    """A year said alone: 2025年 not followed by a month (2025年12月5號 is a
    date, read by its day)."""
    if len(digits) != 4 or text[end : end + 1] != "年":
        return False
    after = text[end + 1 : end + 4]
    return "月" not in after


def unit_follows(text: str, end: int) -> bool:
    """Whether a money or measure word follows position `end`: the number
    before it is an amount or a count, read by `amounts_and_counts`."""
    return _AFTER_MEASURE.match(text, end) is not None and text[end : end + 1] != "年"
