"""The demo's recorded call: a trial-class enquiry at 信義會館 as the PBX
recorded it (examples/recordings: 8 kHz µ-law, the clerk left, the caller
right, named as FreePBX names its files), queued for the demo's worker so a
newcomer sees it heard and the call scored on it.

The file is found beside the checkout's example calls. Without it (an
installed package carries no examples) the demo has no recorded call, and
says so on standard error."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

from callsop.desk.models import Club, Recording, Staff
from callsop.desk.services import calls as svc
from callsop.desk.services.recording_files import store_copy
from callsop.desk.services.recording_match import read_name
from callsop.desk.services.recordings import recording_queue

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "recordings"
ANSWER_AFTER_S = 4.0


def demo_file(folder: Path = EXAMPLES) -> Path | None:
    found = sorted(folder.glob("in-*.wav")) if folder.is_dir() else []
    return found[0] if found else None


def demo_recording(
    *, club: Club, clerk: Staff, now: datetime, folder: Path = EXAMPLES
) -> Recording | None:
    """A finished call of `clerk` with its recording queued; None (and a
    note on standard error) when the example recording is not there."""
    import soundfile as sf

    path = demo_file(folder)
    if path is None:
        sys.stderr.write(
            f"callsop demo: no example recording in {folder}; the demo has no recorded call\n"
        )
        return None
    seconds = float(sf.info(str(path)).duration)
    named = read_name(path)
    start = now - timedelta(seconds=seconds + ANSWER_AFTER_S + 120)
    call = svc.call_ring(club=club, phone=named.number or "0933-222-111", now=start)
    call = svc.call_answer(call=call, clerk=clerk, now=start + timedelta(seconds=ANSWER_AFTER_S))
    call = svc.call_end(
        by="customer", call=call, now=start + timedelta(seconds=ANSWER_AFTER_S + seconds)
    )
    stored = store_copy(path)
    return recording_queue(call=call, files=[stored], staff=None, origin=Recording.Origin.FOLDER)
