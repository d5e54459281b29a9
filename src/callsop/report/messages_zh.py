"""Finding messages in Traditional Chinese, for the people who read them.

The rules write their messages in English and the exchange format keeps them
so (machines read it); clerks and managers read this rendering. There is one
pattern per message shape the rules produce, the first match wins, and the
numbers, times and quoted phrases are carried over. A message no pattern
knows is shown as written: never an error, never a lost fact.

Named groups are rendered by the first letter of their name: d a duration or
a moment in seconds ("4 min 10 s" → 「4 分 10 秒」), w a word or a list of
words (", " between them), o words joined by " or ", i a 0-based index shown
from 1, l a line's name, z an ISO timestamp, s an optional tail; any other
group is kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

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
}
_LINES: Mapping[str, str] = {"consult": "諮詢線", "desk": "櫃檯線"}

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


def _word(text: str) -> str:
    return _WORDS.get(text, text)


def _line(text: str) -> str:
    return _LINES.get(text, f"「{text}」線")


_RENDER: Mapping[str, Callable[[str], str]] = {
    "d": _duration,
    "w": lambda text: "、".join(_word(w) for w in text.split(", ")),
    "o": lambda text: "或".join(_word(w) for w in text.split(" or ")),
    "i": lambda text: str(int(text) + 1),
    "l": _line,
    "z": lambda text: text.replace("T", " "),
    "s": lambda text: _TAILS[text],
}

_TABLE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern.replace("<D>", _DURATION)), template) for pattern, template in _SHAPES
)


def _render(groups: Mapping[str, str | None]) -> dict[str, str]:
    out = {}
    for name, value in groups.items():
        text = value or ""
        render = _RENDER.get(name[0])
        out[name] = render(text) if render is not None and text else text
    return out


def zh(message: str) -> str:
    """`message` in Traditional Chinese, or `message` itself when no shape fits."""
    for pattern, template in _TABLE:
        match = pattern.fullmatch(message)
        if match is not None:
            return template.format(**_render(match.groupdict()))
    return message
