"""Reads call records from JSON, JSON arrays, JSON Lines and WebVTT.

Every record is decoded and checked on its own: a bad record becomes a
`Refusal` naming the file, the record (and its line) and the field, and the
rest of the batch is still read.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, get_args

import msgspec

from callsop.record.model import (
    SCHEMA,
    CallRecord,
    Direction,
    EventType,
    HangupSide,
    RecordError,
    Speaker,
    SpeechSource,
    TaskKind,
    Utterance,
    check_record,
)
from callsop.record.vtt import VttError, parse_vtt

_decode_record = msgspec.json.Decoder(CallRecord).decode
_decode_raw_list = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_any = msgspec.json.Decoder().decode
_ALLOWED = {
    "direction": get_args(Direction),
    "speaker": get_args(Speaker),
    "type": get_args(EventType),
    "by": get_args(HangupSide),
    "kind": get_args(TaskKind),
    "purpose": ("business", "personal"),
    "source": ("audio",),  # of an event or an utterance
    "speech.source": get_args(SpeechSource),
}
MAX_RECORD_BYTES = 2_000_000  # one call's record; an hour's transcript is a tenth of it
_TOO_DEEP = "nested too deeply: a call record is a few levels of objects and lists"
_PATH = re.compile(r" - at `\$(.*)`$")
_BYTE = re.compile(r"\(byte (\d+)\)")


@dataclass(frozen=True, slots=True)
class Loaded:
    source: str
    line: int
    record: CallRecord


@dataclass(frozen=True, slots=True)
class Refusal:
    source: str
    line: int | None
    index: int
    record_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        what = f"record {self.index}: " if self.index else ""  # 0: the file as a whole
        if self.record_id:
            what = f"record {self.index} ({self.record_id}): "
        field = f"field {self.field}: " if self.field else ""
        return f"{where}: {what}{field}{self.message}"


Item = Loaded | Refusal


@dataclass(frozen=True, slots=True)
class Piece:
    """One record's bytes, cut from its file but not yet decoded."""

    source: str
    line: int
    index: int
    data: bytes
    vtt: bool = False


def read_paths(paths: Iterable[str], stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Reads each path in turn; `-` is standard input. Unreadable files are refusals."""
    for item in split_paths(paths, stdin):
        yield decode_piece(item) if isinstance(item, Piece) else item


def read_bytes(source: str, data: bytes) -> Iterator[Item]:
    for item in split_bytes(source, data):
        yield decode_piece(item) if isinstance(item, Piece) else item


@dataclass(frozen=True, slots=True)
class LineRange:
    """Bytes lo to hi of a JSON Lines file, cut at line starts: records not
    yet cut apart, so a worker process can cut and decode its own share."""

    source: str
    data: bytes
    lo: int
    hi: int

    def cut(self, at: int) -> tuple[LineRange, LineRange]:
        """Two ranges split at the first line start at or after `at`."""
        split = self.data.find(b"\n", max(self.lo, at - 1), self.hi)
        split = self.hi if split < 0 else split + 1
        return (
            LineRange(self.source, self.data, self.lo, split),
            LineRange(self.source, self.data, split, self.hi),
        )

    def pieces(self) -> tuple[list[Piece], int]:
        """The range's records, numbered from its own first line, and how
        many lines it holds."""
        lines = self.data[self.lo : self.hi].splitlines()
        return list(_split_lines(self.source, lines)), len(lines)


def load_paths(
    paths: Iterable[str], stdin: BinaryIO | None = None
) -> Iterator[LineRange | Piece | Refusal]:
    """Each file read: JSON Lines whole, as a range still to cut; other
    formats cut into their records' bytes."""
    for path in paths:
        if path == "-":
            source = "<stdin>"
            data = (stdin if stdin is not None else sys.stdin.buffer).read()
        else:
            source = path
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                yield Refusal(path, None, 0, None, None, f"cannot read: {exc.strerror or exc}")
                continue
        if _is_json_lines(source, data):
            yield LineRange(source, data, 0, len(data))
        else:
            yield from split_bytes(source, data)  # JSON Lines is ruled out again: a regex search


def split_paths(paths: Iterable[str], stdin: BinaryIO | None = None) -> Iterator[Piece | Refusal]:
    """Each file cut into its records' bytes, in order, without decoding them."""
    for item in load_paths(paths, stdin):
        if isinstance(item, LineRange):
            yield from item.pieces()[0]
        else:
            yield item


_RECORD_LINE = re.compile(rb"^\{", re.MULTILINE)


def _is_vtt(source: str, data: bytes) -> bool:
    return source.endswith(".vtt") or data.lstrip()[:16].lstrip(b"\xef\xbb\xbf").startswith(
        b"WEBVTT"
    )


def _is_json_lines(source: str, data: bytes) -> bool:
    """JSON Lines by name, or by shape: two or more lines that open a
    record at their first column (a pretty-printed record indents its inner
    braces), so a broken first record never turns a batch into one record."""
    if source.endswith((".jsonl", ".ndjson")):
        return True
    if _is_vtt(source, data) or data.lstrip()[:1] == b"[":
        return False
    lines = _RECORD_LINE.finditer(data)
    return next(lines, None) is not None and next(lines, None) is not None


def split_bytes(source: str, data: bytes) -> Iterator[Piece | Refusal]:
    if not data.strip():  # an empty file, or a pipe whose writer printed nothing
        yield Refusal(source, None, 0, None, None, "no records: the input is empty")
    elif _is_vtt(source, data):
        yield Piece(source, 1, 1, data, vtt=True)
    elif _is_json_lines(source, data):
        yield from _split_lines(source, data.splitlines())
    elif data.lstrip()[:1] == b"[":
        yield from _split_array(source, data)
    else:
        yield Piece(source, 1, 1, data)  # decode errors count lines from byte 0


def decode_piece(piece: Piece) -> Item:
    if len(piece.data) > MAX_RECORD_BYTES:
        return Refusal(
            piece.source,
            piece.line,
            piece.index,
            None,
            None,
            f"too large: {len(piece.data):,} bytes (a record may have {MAX_RECORD_BYTES:,})",
        )
    if piece.vtt:
        return _read_vtt(piece.source, piece.data)
    return _decode_one(piece.source, piece.line, piece.index, piece.data)


def _cut(message: str, most: int = 300) -> str:
    """A decoder's message may quote the bad value whole: a refusal never echoes megabytes."""
    return message if len(message) <= most else message[:most] + "…"


def _field_and_message(exc: msgspec.ValidationError) -> tuple[str | None, str]:
    text = str(exc)
    match = _PATH.search(text)
    if match is None:
        return None, _cut(text)
    path = _cut(match.group(1).lstrip(".")) or None
    message = _cut(text[: match.start()])
    if "datetime" in message:
        message += ": write an ISO 8601 time with its UTC offset, e.g. 2026-11-27T10:02:11+08:00"
    if path and message.startswith("Invalid enum value"):
        bare = re.sub(r"\[\d+\]", "", path)
        allowed = _ALLOWED.get(bare) or _ALLOWED.get(bare.rsplit(".", 1)[-1])
        if allowed:
            message += "; expected one of " + ", ".join(allowed)
    return path, message


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _peek_id(raw: bytes) -> str | None:
    try:
        value = _decode_any(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _decode_one(source: str, line: int, index: int, raw: bytes) -> Item:
    try:
        record = _decode_record(raw)
        check_record(record)
    except msgspec.ValidationError as exc:
        field, message = _field_and_message(exc)
        return Refusal(source, line, index, _peek_id(raw), field, message)
    except msgspec.DecodeError as exc:
        message = str(exc)
        byte = _BYTE.search(message)
        if byte is not None:
            line += raw.count(b"\n", 0, int(byte.group(1)))
        if message == "Input data was truncated":
            message = "the JSON ends before the record does (cut off, or a bracket missing)"
        return Refusal(source, line, index, None, None, message)
    except RecursionError:  # msgspec's guard against deep nesting, before any field is read
        return Refusal(source, line, index, None, None, _TOO_DEEP)
    except RecordError as exc:
        return Refusal(source, line, index, _peek_id(raw), exc.field, exc.message)
    return Loaded(source, line, record)


def _split_lines(source: str, lines: list[bytes]) -> Iterator[Piece]:
    index = 0
    for number, raw in enumerate(lines, start=1):
        if not raw or raw.isspace():
            continue
        index += 1
        yield Piece(source, number, index, raw)


def _split_array(source: str, data: bytes) -> Iterator[Piece | Refusal]:
    try:
        items = _decode_raw_list(data)
    except RecursionError:
        yield Refusal(source, 1, 0, None, None, f"not a JSON array of records: {_TOO_DEEP}")
        return
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        message = str(exc)
        byte = _BYTE.search(message)
        line = _line_of(data, int(byte.group(1))) if byte else 1
        yield Refusal(source, line, 0, None, None, f"not a JSON array of records: {message}")
        return
    offset, line, counted = 0, 1, 0
    for index, item in enumerate(items, start=1):
        raw = bytes(item)
        found = data.find(raw, offset)
        at = found if found >= 0 else offset
        line += data.count(b"\n", counted, at)  # counted as we go: one pass over the file
        counted = offset = at + len(raw)
        yield Piece(source, line, index, raw)
        line += raw.count(b"\n")


def _read_vtt(source: str, data: bytes) -> Item:
    try:
        doc = parse_vtt(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Refusal(source, None, 1, None, None, f"not UTF-8 text ({exc.reason})")
    except VttError as exc:
        return Refusal(source, exc.line, 1, None, None, exc.message)
    meta: dict[str, Any] = dict(doc.meta)
    record_id = meta.get("id") or ("stdin" if source == "<stdin>" else Path(source).stem)
    try:
        started = datetime.fromisoformat(meta.get("started_at", "1970-01-01T00:00:00+00:00"))
    except ValueError:
        return Refusal(source, None, 1, record_id, "started_at", "not an ISO 8601 time")
    if started.tzinfo is None:
        return Refusal(source, None, 1, record_id, "started_at", "needs a UTC offset")
    direction = meta.get("direction")
    if direction not in (None, "inbound", "outbound"):
        return Refusal(source, None, 1, record_id, "direction", f"unknown: {direction!r}")
    utterances = tuple(
        Utterance(speaker=cue.speaker, start=cue.start, end=cue.end, text=cue.text)  # type: ignore[arg-type]
        for cue in doc.cues
    )
    record = CallRecord(
        schema=SCHEMA,
        id=record_id,
        started_at=started,
        direction=direction,
        club=meta.get("club"),
        utterances=utterances,
    )
    return Loaded(source, 1, record)
