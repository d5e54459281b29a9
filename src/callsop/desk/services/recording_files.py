"""Where recordings are kept: streamed to disk in chunks, hashed on the way,
and refused past the size limit before the limit is passed."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils import timezone

from callsop.desk.services.errors import ActionError

CHUNK = 1 << 20
# .raw/.sln/.sln16: Asterisk MixMonitor's two-channel files (its D option), headerless.
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".raw", ".sln", ".sln16"}


def recordings_dir() -> Path:
    return Path(settings.DATA_DIR) / "recordings"


def max_bytes() -> int:
    return int(settings.CALLSOP_RECORDING_MAX_MB) * 1024 * 1024


def too_big(name: str) -> ActionError:
    limit = settings.CALLSOP_RECORDING_MAX_MB
    return ActionError(f"{name}：檔案太大（上限 {limit} MB），未保存。", field="recording")


@dataclass(frozen=True)
class StoredFile:
    """A file kept under the recordings folder; `path` is relative to it."""

    path: str
    name: str
    size: int
    sha256: str

    @property
    def absolute(self) -> Path:
        return recordings_dir() / self.path

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "name": self.name, "size": self.size, "sha256": self.sha256}


class Sink:
    """One file being written: `write` each chunk, then `done` or `discard`.
    Raises `ActionError` (and removes what it wrote) once past the limit."""

    def __init__(self, name: str) -> None:
        self.name = os.path.basename(name) or "recording"
        suffix = Path(self.name).suffix.lower()
        folder = recordings_dir() / timezone.now().strftime("%Y-%m")
        folder.mkdir(parents=True, exist_ok=True)
        stem = secrets.token_hex(8)
        self.final = folder / f"{stem}{suffix if suffix in AUDIO_SUFFIXES else '.audio'}"
        self.part = folder / f"{stem}.part"
        self.size = 0
        self.limit = max_bytes()
        self.hash = hashlib.sha256()
        self._file: IO[bytes] | None = open(self.part, "wb")  # noqa: SIM115  # closed in done/discard

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise too_big(self.name)
        self.hash.update(chunk)
        self._file.write(chunk)

    def done(self) -> StoredFile:
        assert self._file is not None
        self._file.close()
        self._file = None
        self.part.rename(self.final)
        return StoredFile(
            path=self.final.relative_to(recordings_dir()).as_posix(),
            name=self.name,
            size=self.size,
            sha256=self.hash.hexdigest(),
        )

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.part.unlink(missing_ok=True)


def store_chunks(name: str, chunks: Iterable[bytes]) -> StoredFile:
    sink = Sink(name)
    try:
        for chunk in chunks:
            sink.write(chunk)
    except BaseException:
        sink.discard()
        raise
    return sink.done()


def store_copy(path: Path) -> StoredFile:
    """A copy of `path` (a file of the PBX's folder, which may be rotated away)."""
    with open(path, "rb") as source:
        return store_chunks(path.name, iter(lambda: source.read(CHUNK), b""))


def discard(files: Iterable[StoredFile | dict[str, object]]) -> None:
    for f in files:
        relative = f.path if isinstance(f, StoredFile) else str(f["path"])
        (recordings_dir() / relative).unlink(missing_ok=True)


def check_audio(files: list[StoredFile]) -> None:
    """Refuses, naming the file, what is not a recording the decoder reads:
    its header only, so the request answers at once."""
    import soundfile

    from callsop.audio.formats import raw_rate, raw_size_problem

    for f in files:
        if raw_rate(f.absolute) is not None:  # no header to read: its size must fit
            size = f.absolute.stat().st_size
            if size == 0:
                raise ActionError(f"{f.name}：錄音是空的。", field="recording")
            if raw_size_problem(f.absolute, size) or len(files) == 2:
                raise ActionError(
                    f"{f.name}：不是 MixMonitor 雙聲道原始錄音（8 kHz、16 位元、雙聲道交錯）。",
                    field="recording",
                )
            continue
        try:
            info = soundfile.info(str(f.absolute))
        except (RuntimeError, soundfile.LibsndfileError):
            raise ActionError(
                f"{f.name}：不是可讀取的錄音檔（WAV、FLAC、OGG 或 MP3）。", field="recording"
            ) from None
        if info.frames <= 0 or info.samplerate <= 0:
            raise ActionError(f"{f.name}：錄音是空的。", field="recording")
        if len(files) == 2 and info.channels != 1:
            raise ActionError(
                f"{f.name}：分軌錄音的每一個檔案應為單聲道（此檔 {info.channels} 聲道）。",
                field="recording",
            )
        if info.channels > 2:
            raise ActionError(
                f"{f.name}：錄音有 {info.channels} 個聲道，只接受單聲道或雙聲道。",
                field="recording",
            )
