"""A strict WebVTT reader for transcripts with `<v staff>` / `<v customer>` voices.

Strict on purpose: a cue with a bad timing line is an error naming its line,
never silently dropped. A `NOTE callsop` block may carry the record's id,
direction, club and started_at as `key: value` lines.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from callsop.record.model import RecordError

_TIMING = re.compile(
    r"^((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})(?:\s+.*)?$"
)
# A tag never holds "<": a run of "<" without ">" then costs one pass, not
# one pass per "<" (a 2 MB cue of "<" took minutes with [^>]+).
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^<>]+)>")
_TAG = re.compile(r"</?[^<>]+>")
_SPEAKERS = {"staff", "customer", "other"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class VttError(RecordError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(None, message)
        self.line = line


@dataclass
class VttCue:
    line: int
    start: float
    end: float
    speaker: str
    text: str


@dataclass
class VttDocument:
    meta: dict[str, str] = field(default_factory=dict)
    cues: list[VttCue] = field(default_factory=list)


def _shown(text: str, most: int = 60) -> str:
    """`text` quoted for a message, cut short: a refusal never echoes a whole file."""
    return repr(text[:most]) + ("…" if len(text) > most else "")


def _seconds(stamp: str) -> float | None:
    """Seconds from `[hh:]mm:ss.ttt`, or None when minutes or seconds pass 59."""
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[0]) if len(parts) == 3 else 0
    if minutes > 59 or seconds >= 60:
        return None
    return hours * 3600 + minutes * 60 + seconds


def _control(text: str) -> str | None:
    """The first control character in `text` other than tab, if any."""
    for char in text:
        if char != "\t" and unicodedata.category(char) == "Cc":
            return char
    return None


def _cue_text(payload: str) -> str:
    """Cue text without tags, with entities decoded (&amp; &lt; &nbsp; …)."""
    text = html.unescape(_TAG.sub("", payload))
    # A no-break space reads as a space; direction marks carry no words.
    return text.replace("\xa0", " ").replace("\u200e", "").replace("\u200f", "").strip()


def parse_vtt(text: str) -> VttDocument:
    # Only CR and LF end a line in WebVTT (str.splitlines would also split
    # on U+2028 and the like inside a cue, and miscount every line after).
    lines = _LINE_BREAK.split(text.lstrip("\ufeff"))
    if not lines or not lines[0].startswith("WEBVTT"):
        raise VttError(1, 'not WebVTT: the first line must start with "WEBVTT"')
    doc = VttDocument()
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start_line = 0
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            if not current:
                start_line = number
            current.append(line)
        elif current:
            blocks.append((start_line, current))
            current = []
    if current:
        blocks.append((start_line, current))
    for first_line, block in blocks:
        if block[0].startswith("NOTE"):
            _read_note(block, doc.meta)
            continue
        if block[0].startswith(("STYLE", "REGION")):
            continue
        doc.cues.append(_read_cue(first_line, block))
    return doc


def _read_note(block: list[str], meta: dict[str, str]) -> None:
    head = block[0][4:].strip()
    if not head.startswith("callsop"):
        return
    pairs = [head[len("callsop") :].strip(), *block[1:]]
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            meta[key.strip()] = value.strip()


def _read_cue(first_line: int, block: list[str]) -> VttCue:
    timing_at = 0 if "-->" in block[0] else 1
    if timing_at >= len(block) or "-->" not in block[timing_at]:
        raise VttError(first_line, "cue without a timing line (00:00:01.000 --> 00:00:02.000)")
    line_no = first_line + timing_at
    match = _TIMING.match(block[timing_at].strip())
    if match is None:
        raise VttError(line_no, f"bad cue timing: {_shown(block[timing_at].strip())}")
    start, end = _seconds(match.group(1)), _seconds(match.group(2))
    if start is None or end is None:
        raise VttError(
            line_no,
            f"bad cue timing: {_shown(block[timing_at].strip())}: minutes and seconds run 00 to 59",
        )
    if end < start:
        raise VttError(line_no, f"cue ends ({match.group(2)}) before it starts ({match.group(1)})")
    for offset, text_line in enumerate(block[timing_at + 1 :], start=1):
        char = _control(text_line)
        if char is not None:
            raise VttError(
                line_no + offset, f"cue text holds a control character (U+{ord(char):04X})"
            )
    payload = "\n".join(block[timing_at + 1 :])
    voice = _VOICE.search(payload)
    if voice is None:
        raise VttError(line_no + 1, "cue without a voice span: write <v staff> or <v customer>")
    speaker = voice.group(1).strip().lower()
    if speaker not in _SPEAKERS:
        raise VttError(
            line_no + 1, f"unknown voice {_shown(voice.group(1))}: use staff, customer or other"
        )
    text = _cue_text(payload)
    char = _control(text.replace("\n", ""))
    if char is not None:
        raise VttError(line_no + 1, f"cue text holds a control character (U+{ord(char):04X})")
    return VttCue(line_no, start, end, speaker, text)
