"""Finding messages in Traditional Chinese, for the people who read them.

The rules write their messages in English and the exchange format keeps them
so (machines read it); clerks and managers read this rendering. There is one
pattern per message shape the rules produce, the first match wins, and the
numbers, times and quoted phrases are carried over. A message no pattern
knows is shown as written: never an error, never a lost fact.

Named groups are rendered by the first letter of their name: d a duration or
a moment in seconds ("4 min 10 s" → 「4 分 10 秒」), w a word or a list of
words (", " between them), o words joined by " or ", i a 0-based index shown
from 1, l a line's name, z an ISO timestamp (in the club's time zone when it
is given), x a staff id (by name when the names are given), s an optional
tail; any other group is kept as is.

Rule titles that quote a threshold (三聲內接聽) are built from the club's
policy by `rule_title`, so a club that changed the number reads its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from callsop.policy import Timing, default_policy
from callsop.record.reader import Refusal
from callsop.report import shapes_zh_calls as calls
from callsop.report import shapes_zh_talk as talk

# Seconds as rules.base.seconds() and f"{t:g} s" write them.
_DURATION = r"\d+ min(?: \d+ s)?|\d+(?:\.\d+)? s"
_MINUTES = re.compile(r"(\d+) min(?: (\d+) s)?")

_WORDS: Mapping[str, str] = {
    # record fields and kinds
    "memos": "留言",
    "tasks": "待辦",
    "memo": "轉達留言",
    "callback": "回電",
    "complaint": "客訴回覆",
    "follow-up": "後續聯絡",
    "retry": "重撥",
    "personal": "私人",
    "business": "業務",
    # who ended a call
    "customer": "客戶",
    "network": "線路（斷線）",
    "staff": "館員",
    "an unrecorded side": "未記錄的一方",
    "the colleague": "該同事",
    # the call plan
    "purpose": "目的",
    "number verified": "核對電話",
    "name verified": "核對姓名",
    "salutation": "稱呼",
    "outline": "大綱",
    "time budget": "預計時間",
    # the call note's 5W1H
    "WHEN": "何時",
    "WHO": "何人",
    "WHERE": "何地",
    "WHAT": "何事",
    "WHY": "為何",
    "HOW": "如何",
    # what the caller was not asked
    "name (貴姓)": "姓名（「貴姓」）",
    "purpose (有什麼事)": "來意（「有什麼事」）",
    "none": "無",
    "a superior": "上級主管",
}
_LINES: Mapping[str, str] = {"consult": "諮詢線", "desk": "櫃檯線", "main": "總機"}

# The optional tails of a message (group names starting with s).
_TAILS: Mapping[str, str] = {
    ", never resumed": "，之後未再接回",
    ", heard in the recording": "（由錄音聽出）",
}

_SHAPES = (*calls.SHAPES, *talk.SHAPES)


def _duration(text: str) -> str:
    minutes = _MINUTES.fullmatch(text)
    if minutes is None:
        return text.removesuffix(" s") + " 秒"
    whole, rest = minutes.groups()
    return f"{whole} 分 {rest} 秒" if rest else f"{whole} 分鐘"


@dataclass(frozen=True)
class _Reader:
    """Who reads the message: their time zone and the names of the staff ids."""

    tz: tzinfo | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def word(self, text: str) -> str:
        return self.names.get(text) or _WORDS.get(text, text)

    def moment(self, text: str) -> str:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            return text.replace("T", " ")
        if self.tz is not None and at.tzinfo is not None:
            at = at.astimezone(self.tz)
        elif at.tzinfo is not None:
            return text.replace("T", " ")
        return at.strftime("%Y-%m-%d %H:%M")


def _line(text: str) -> str:
    return _LINES.get(text, f"「{text}」線")


_RENDER: Mapping[str, Callable[[str, _Reader], str]] = {
    "d": lambda text, _: _duration(text),
    "w": lambda text, r: "、".join(r.word(w) for w in text.split(", ")),
    "o": lambda text, r: "或".join(r.word(w) for w in text.split(" or ")),
    "i": lambda text, _: str(int(text) + 1),
    "l": lambda text, _: _line(text),
    "z": lambda text, r: r.moment(text),
    "x": lambda text, r: r.word(text),
    "s": lambda text, _: _TAILS[text],
}

_TABLE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern.replace("<D>", _DURATION)), template) for pattern, template in _SHAPES
)


def _render(groups: Mapping[str, str | None], reader: _Reader) -> dict[str, str]:
    out = {}
    for name, value in groups.items():
        text = value or ""
        render = _RENDER.get(name[0])
        out[name] = render(text, reader) if render is not None and text else text
    return out


def zh(message: str, *, tz: tzinfo | None = None, names: Mapping[str, str] | None = None) -> str:
    """`message` in Traditional Chinese, or `message` itself when no shape fits.

    With `tz`, a moment is shown as the local time there (no offset); with
    `names`, a staff id is shown as the person's name."""
    reader = _Reader(tz, names or {})
    for pattern, template in _TABLE:
        match = pattern.fullmatch(message)
        if match is not None:
            return template.format(**_render(match.groupdict(), reader))
    return message


def _span(seconds: float) -> str:
    """A threshold in seconds as a title says it: 30 秒, 1 分鐘, 1 分 30 秒."""
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    if not minutes or whole < 60:
        return f"{seconds:g} 秒"
    return f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分鐘"


def _minutes(low: float, high: float) -> str:
    if low % 60 == 0 and high % 60 == 0:
        return f"{low / 60:g}–{high / 60:g} 分鐘"
    return f"{low:g}–{high:g} 秒"


# Titles that quote a number of the policy: the number it reads, and the title
# with the club's number in it.
_TITLES: Mapping[str, tuple[Callable[[Timing], object], Callable[[Timing], str]]] = {
    "inbound.answer-promptly": (
        lambda t: t.answer_within_rings,
        lambda t: f"{t.answer_within_rings} 聲內接聽",
    ),
    "inbound.apologize-late-answer": (
        lambda t: t.answer_within_rings,
        lambda t: f"超過 {t.answer_within_rings} 聲要道歉",
    ),
    "hold.max-duration": (lambda t: t.max_hold_s, lambda t: f"等候不超過 {_span(t.max_hold_s)}"),
    "outbound.no-answer-give-up": (
        lambda t: t.give_up_rings,
        lambda t: f"鈴響 {t.give_up_rings} 聲無人接聽即掛斷",
    ),
    "outbound.retry-after-no-answer": (
        lambda t: (t.retry_after_min_s, t.retry_after_max_s),
        lambda t: f"{_minutes(t.retry_after_min_s, t.retry_after_max_s)}後再撥",
    ),
}


def rule_title(rule_id: str, title: str, timing: Timing | None) -> str:
    """The rule's title for a club with `timing`: the SOP's own words while
    the club keeps the SOP's number, its own number once it changed it."""
    quoted = _TITLES.get(rule_id)
    if quoted is None or timing is None:
        return title
    number, build = quoted
    if number(timing) == number(default_policy().timing):
        return title
    return build(timing)


def hold_limit(timing: Timing | None) -> str:
    """The club's longest hold, as a label says it: 1 分鐘, 30 秒."""
    return _span((timing or default_policy().timing).max_hold_s)


# Why a call record or transcript file could not be read (record.reader,
# record.vtt): the common shapes; any other reason is shown as written.
_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        ("no records: the input is empty", "檔案是空的，沒有任何紀錄"),
        (r"cannot read: (?P<r>.+)", "無法開啟檔案（{r}）"),
        (r"not UTF-8 text \((?P<r>.+)\)", "不是 UTF-8 文字檔（{r}）"),
        (
            r"too large: (?P<n>[\d,]+) bytes \(a record may have (?P<m>[\d,]+)\)",
            "太大：{n} 位元組（一筆紀錄最多 {m}）",
        ),
        (r"not a JSON array of records: (?P<r>.+)", "不是通話紀錄的 JSON 陣列（{r}）"),
        (
            'not WebVTT: the first line must start with "WEBVTT"',
            "不是 WebVTT：第一行必須以「WEBVTT」開頭",
        ),
        (
            r"cue without a timing line \((?P<r>.+)\)",
            "字幕段沒有時間行（例如 {r}）",
        ),
        (r"bad cue timing: (?P<r>.+)", "字幕段的時間寫法不對：{r}"),
        (
            r"cue ends \((?P<b>.+)\) before it starts \((?P<a>.+)\)",
            "字幕段的結束時間（{b}）早於開始時間（{a}）",
        ),
        (
            "cue without a voice span: write <v staff> or <v customer>",
            "字幕段沒有標明說話者：請寫 <v staff> 或 <v customer>",
        ),
        (
            r"unknown voice (?P<r>.+): use staff, customer or other",
            "不認得的說話者 {r}：請用 staff、customer 或 other",
        ),
        ("not an ISO 8601 time", "不是 ISO 8601 時間"),
        ("needs a UTC offset", "需要時區（UTC 偏移）"),
        (r"JSON is malformed: (?P<r>.+)", "JSON 格式錯誤（{r}）"),
        (r"Expected `(?P<a>[^`]+)`, got `(?P<b>[^`]+)`", "應為 {a}，卻是 {b}"),
        (r"Object missing required field `(?P<r>[^`]+)`", "缺少必填欄位 {r}"),
        (r"Object contains unknown field `(?P<r>[^`]+)`", "不認得的欄位 {r}"),
        (r"unknown: (?P<r>.+)", "不認得的值：{r}"),
        (r"required: (?P<r>.+)", "必填：{r}"),
    )
)


def refusal_zh(refusal: Refusal) -> str:
    """Why a file was refused, in Traditional Chinese: the file, the line,
    the record and the field, then the reason (as written when no shape fits)."""
    where = f"{refusal.source} 第 {refusal.line} 行" if refusal.line is not None else refusal.source
    what = f"第 {refusal.index} 筆紀錄" if refusal.index else ""
    name = f"欄位 {refusal.field}" if refusal.field else ""
    reason = refusal.message
    for pattern, template in _REFUSALS:
        match = pattern.fullmatch(refusal.message)
        if match is not None:
            reason = template.format(**match.groupdict())
            break
    return "：".join(part for part in (where, what, name, reason) if part)
