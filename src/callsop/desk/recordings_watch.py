"""`callsop telephony --recordings DIR`: takes each new recording the PBX
writes into its folder (and the folders under it, as FreePBX files them by
day) and queues it for its call, as an upload would.

A file counts once its size and modification time have stood still for
SETTLE_S (the PBX is done writing it). It is copied into the desk's own
recordings folder, so the PBX may rotate its files away. Each file is taken
once: its path, size and modification time are kept in the database, so a
restart, or a second watcher on the same folder, does not take it again.
Which call a file belongs to is decided by `services.recording_match`.

A PBX that writes one file per direction (`<id>-in.wav` and `<id>-out.wav`,
`<id>-r.wav` and `<id>-t.wav`: `services.recording_legs`) has its two legs
taken together once both stand still, the staff's first; a leg whose pair
has not appeared after LEG_WAIT_S is taken alone, as a one-track call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.utils import timezone

from callsop.desk.models import Call, RecordingFile
from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_files import AUDIO_SUFFIXES, StoredFile, discard, store_copy
from callsop.desk.services.recording_legs import Direction, leg_of, staff_first
from callsop.desk.services.recording_match import match_file
from callsop.desk.services.recordings import recording_queue

SETTLE_S = 2.0
POLL_S = 1.0
RETRY_S = 30.0  # a file that matched nothing, or waits for its call, is tried again
RETRY_MAX_S = 3600.0
LEG_WAIT_S = 60.0  # a leg waits this long for the other before it is taken alone

Log = Callable[[str], None]


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    still_since: float
    next_try: float = 0.0
    tries: int = 0
    reported: bool = False


@dataclass
class Watcher:
    folder: Path
    log: Log
    settle_s: float = SETTLE_S
    poll_s: float = POLL_S
    leg_wait_s: float = LEG_WAIT_S
    seen: dict[str, _Seen] = field(default_factory=dict)
    done: set[tuple[str, int, int]] = field(default_factory=set)
    taken: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="callsop-recordings", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        self.log(f"watching {self.folder} for recordings")
        try:
            while not self._stop.is_set():
                try:
                    self.scan()
                except Exception as exc:  # the database away a moment: try again next round
                    self.log(f"recordings: {exc}")
                    close_old_connections()
                self._stop.wait(self.poll_s)
        finally:
            connections.close_all()

    def scan(self, now: float | None = None) -> int:
        """One look at the folder; how many recordings were taken."""
        at = time.monotonic() if now is None else now
        before = self.taken
        present: dict[str, Path] = {}
        settled: list[Path] = []
        for path in self._files():
            key = str(path)
            present[key] = path
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            seen = self.seen.get(key)
            if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.seen[key] = _Seen(st.st_size, st.st_mtime_ns, at)
                continue
            if st.st_size == 0 or at - seen.still_since < self.settle_s or at < seen.next_try:
                continue
            if (key, st.st_size, st.st_mtime_ns) in self.done:
                continue  # taken already: the PBX's folder keeps its files
            settled.append(path)
        ready = {str(p) for p in settled}
        for path in settled:
            group = self._group(path, present, ready, at)
            if group is not None and all(str(p) in ready for p in group.values()):
                self._consider(group, at)
                ready -= {str(p) for p in group.values()}
        for gone in set(self.seen) - set(present):
            del self.seen[gone]
        return self.taken - before

    def _group(
        self, path: Path, present: dict[str, Path], ready: set[str], at: float
    ) -> dict[Direction, Path] | None:
        """The files that make one recording with `path`: itself, or both
        legs; None while a leg waits for its pair."""
        leg = leg_of(path)
        if leg is None:
            return {"in": path}
        pair = [
            p
            for p in present.values()
            if p.parent == path.parent
            and (other := leg_of(p)) is not None
            and other.base == leg.base
            and other.direction != leg.direction
        ]
        if pair:
            return {leg.direction: path, "out" if leg.direction == "in" else "in": pair[0]}
        if at - self.seen[str(path)].still_since < self.leg_wait_s:
            return None
        return {leg.direction: path}

    def _files(self) -> list[Path]:
        out = []
        for root, _dirs, names in os.walk(self.folder):
            for name in names:
                if Path(name).suffix.lower() in AUDIO_SUFFIXES and not name.startswith("."):
                    out.append(Path(root) / name)
        return sorted(out)

    def _consider(self, group: dict[Direction, Path], at: float) -> None:
        paths = list(group.values())
        seens = [self.seen[str(p)] for p in paths]
        keys = [(str(p), s.size, s.mtime_ns) for p, s in zip(paths, seens, strict=True)]
        if any(key in self.done for key in keys):
            return
        taken = RecordingFile.objects.filter(
            path__in=[k[0] for k in keys], size__in=[k[1] for k in keys]
        ).values_list("path", "size", "mtime_ns")
        if set(keys) & set(taken):
            self.done.update(keys)
            return
        found = match_file(paths[0])
        if found.call is None or found.waiting:
            names = " + ".join(p.name for p in paths)
            if found.call is None and not seens[0].reported:
                self.log(f"recording {names}: matches no call on the desk; left alone")
            for seen in seens:
                seen.reported = seen.reported or found.call is None
                seen.tries += 1
                seen.next_try = at + min(RETRY_MAX_S, RETRY_S * 2 ** (seen.tries - 1))
            return
        self.done.update(keys)
        ordered = staff_first(found.call, group) if len(group) == 2 else paths
        by_path = dict(zip(paths, keys, strict=True))
        self._take(ordered, [by_path[p] for p in ordered], found.call, found.how)

    def _take(
        self, paths: list[Path], keys: list[tuple[str, int, int]], call: Call, how: str
    ) -> None:
        names = " + ".join(p.name for p in paths)
        try:
            with transaction.atomic():
                rows = [
                    RecordingFile.objects.create(
                        path=path, size=size, mtime_ns=mtime, taken_at=timezone.now()
                    )
                    for path, size, mtime in keys
                ]
        except IntegrityError:
            return  # another watcher took it a moment ago
        taken = RecordingFile.objects.filter(pk__in=[r.pk for r in rows])
        stored: list[StoredFile] = []
        try:
            stored = [store_copy(path) for path in paths]
            recording = recording_queue(
                call=call,
                files=stored,
                staff=None,
                origin="folder",
                staff_channel=settings.CALLSOP_RECORDING_STAFF_CHANNEL,
            )
        except (ActionError, OSError) as exc:
            discard(stored)
            reason = exc.message if isinstance(exc, ActionError) else str(exc)
            taken.update(outcome=f"refused: {reason}"[:200])
            self.log(f"recording {names}: refused: {reason}")
            return
        taken.update(recording=recording, outcome="queued")
        self.taken += 1
        self.log(f"recording {names}: queued for call {call.record_id} (by {how})")


def start(folder: Path, *, log: Log) -> Watcher:
    """Starts watching `folder` on a thread of its own; `.stop()` ends it."""
    if not folder.is_dir():
        raise SystemExit(f"callsop: --recordings {folder}: no such folder")
    return Watcher(folder.resolve(), log).start()
