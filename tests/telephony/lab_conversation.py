"""A scripted conversation played on the lab's baresip phones and recorded.

The clerk's and the caller's tracks are built from the test speech of
tests/audio/speech (the enquiry call's lines, at 8 kHz) and some music on
hold; each phone plays its track into the call over G.711 µ-law, and both
phones record what they sent and received. Times in the script are seconds
after the answer, where the tracks (and the recording) begin."""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from callsop.audio import Heard
from callsop.record.model import CallRecord
from callsop.record.reader import Loaded, read_bytes
from callsop.telephony.dialogs import CallEvent
from tests.telephony import sip_lab
from tests.telephony.baresip_phone import RATE, Baresip, Legs
from tests.telephony.sip_lab import Lab

SPEECH = Path(__file__).resolve().parent.parent / "audio" / "speech"
CLUB_LINE = "0227001234"
CUSTOMER = "0912345678"

# (speaker, seconds after the answer, line of tests/audio/speech/lines.toml)
SCRIPT = (
    ("staff", 0.5, "enq-s01"),  # 您好，信義會館，我是櫃檯小陳，請問有什麼可以幫您？
    ("customer", 6.7, "enq-c01"),  # 你好，我想問一下瑜伽體驗課的時間。(to 9.9 s)
    ("staff", 8.0, "enq-s02"),  # 好的，請問您貴姓？ 1.8 s before she is done: a talk-over
    ("customer", 10.6, "enq-c02"),  # 我姓林。
    ("staff", 11.9, "enq-s03"),  # 林小姐您好，請稍候，我幫您查一下課表。
    ("staff", 25.3, "enq-s04"),  # 林小姐，讓您久等了。這個星期六上午十點有一堂體驗課，還有名額。
    ("staff", 33.0, "enq-s08"),  # 不客氣，歡迎您到會館來做客，再見！
    ("customer", 37.6, "enq-c07"),  # 再見。
)
SIDES = ("staff", "customer")
HOLD = (16.8, 24.8)  # the clerk's music on hold
HANG_UP_AT = 39.0  # the caller hangs up
TRACK_S = 60.0  # longer than the call: baresip ends a call's audio where its file ends

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Said:
    speaker: str
    start: float  # where the voice begins and ends, not the clip
    end: float
    text: str


@dataclass(frozen=True)
class RecordedCall:
    folder: Path  # the played tracks: staff.wav and customer.wav
    events: list[CallEvent]  # the PBX's, through the HEP feed
    desk: Legs  # what the desk phone sent (the clerk) and received (the caller)
    customer: Legs  # what the caller's phone sent and received
    said: list[Said]
    desk_log: str  # what the desk phone's baresip printed (its audio pipelines…)

    def lines(self, speaker: str) -> list[Said]:
        return [s for s in self.said if s.speaker == speaker]

    @property
    def answered_at(self) -> float:
        """Seconds from the call's first event to its answer: the recording's t=0."""
        answered = next(e for e in self.events if e.kind == "answered")
        return answered.at - self.events[0].at


def _line(name: str) -> Samples:
    samples, rate = sf.read(SPEECH / f"{name}.flac", dtype="float32")
    return np.asarray(soxr.resample(samples, rate, RATE), dtype=np.float32)


def _voiced(samples: Samples) -> tuple[float, float]:
    """Where a clip's voice begins and ends: its first and last 10 ms above -40 dBFS."""
    frame = RATE // 100
    count = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > 0.01)
    return loud[0] / 100, (loud[-1] + 1) / 100


def _music(seconds: float) -> Samples:
    """A pentatonic tune with harmonics over a chord pad, as hold music goes."""
    t = np.arange(int(seconds * RATE)) / RATE
    notes = np.array([262.0, 294.0, 330.0, 392.0, 440.0, 392.0, 330.0, 294.0])
    f = notes[(t / 0.4).astype(int) % len(notes)]
    phase = 2 * np.pi * np.cumsum(f) / RATE
    tune = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
    pad = sum(np.sin(2 * np.pi * chord * t) for chord in (131.0, 165.0, 196.0))
    music = 0.6 * tune + 0.3 * pad
    return np.asarray(0.2 * music / np.abs(music).max(), dtype=np.float32)


def write_tracks(folder: Path) -> list[Said]:
    """staff.wav and customer.wav (mono, 16-bit, 8 kHz) in `folder`; what is said when."""
    texts = {
        line["id"]: line["text"]
        for line in tomllib.loads((SPEECH / "lines.toml").read_text("utf-8"))["line"]
    }
    tracks = {side: np.zeros(int(TRACK_S * RATE), dtype=np.float32) for side in SIDES}
    said = []
    for speaker, at, name in SCRIPT:
        speech = _line(name)
        first = int(at * RATE)
        tracks[speaker][first : first + len(speech)] += speech
        begins, ends = _voiced(speech)
        said.append(Said(speaker, at + begins, at + ends, texts[name]))
    music = _music(HOLD[1] - HOLD[0])
    first = int(HOLD[0] * RATE)
    tracks["staff"][first : first + len(music)] += music
    for side, samples in tracks.items():
        sf.write(folder / f"{side}.wav", np.clip(samples, -1, 1), RATE, subtype="PCM_16")
    return said


def play(lab: Lab, folder: Path) -> RecordedCall:
    """The caller rings the club's line, extension 101 answers after a ring,
    the tracks play, the caller hangs up: about 40 s of real time."""
    said = write_tracks(folder)
    customer_port, customer_ctrl, desk_ctrl = sip_lab.free_ports(3)
    desk = Baresip(
        folder,
        name="101",
        sip_port=lab.desk_port,
        ctrl_port=desk_ctrl,
        speaks=folder / "staff.wav",
        records=True,
    )
    customer = Baresip(
        folder,
        name=CUSTOMER,
        sip_port=customer_port,
        ctrl_port=customer_ctrl,
        speaks=folder / "customer.wav",
        records=True,
    )
    try:
        customer.command("dial", f"sip:{CLUB_LINE}@127.0.0.1:{lab.proxy_port}")
        desk.wait_for("CALL_INCOMING")
        time.sleep(1.0)
        desk.command("accept")
        desk.wait_for("CALL_ESTABLISHED")
        time.sleep(HANG_UP_AT)  # the tracks play the conversation meanwhile
        customer.command("hangup")
        customer.wait_for("CALL_CLOSED")
        events = [
            CallEvent(**{k: v for k, v in e.items() if k != "emitted_at"})
            for e in lab.events_until_end()
        ]
    finally:
        customer.stop()
        desk.stop()
    return RecordedCall(folder, events, desk.legs(), customer.legs(), said, desk.log())


def with_speech(pbx: CallRecord, heard: Heard, offset: float) -> CallRecord:
    """The PBX's record with the recording's speech, its times moved by
    `offset` into the call's, read back through the record reader."""
    record: dict[str, Any] = msgspec.to_builtins(pbx)
    moved = [{**e, "t": round(e["t"] + offset, 2)} for e in heard.events]
    record["events"] = sorted([*record["events"], *moved], key=lambda e: float(e["t"]))
    record["utterances"] = [
        {**u, "start": round(u["start"] + offset, 2), "end": round(u["end"] + offset, 2)}
        for u in heard.utterances
    ]
    record["speech"] = heard.speech
    [item] = read_bytes("recorded call", msgspec.json.encode(record))
    assert isinstance(item, Loaded), str(item)
    return item.record


def characters(text: str) -> int:
    """Chinese characters: one syllable each."""
    return len(re.findall(r"[\u4e00-\u9fff]", text))
