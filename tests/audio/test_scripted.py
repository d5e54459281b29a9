"""The scripted-call builder writes what its truth says."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest
import soundfile as sf

from callsop.engine import score
from callsop.policy import default_policy
from callsop.record import CallRecord
from tests.audio.conftest import BuildCall
from tests.audio.script import Hold, Pause, Say, Script, Span, lay_out
from tests.audio.scripted import SCENARIOS, build, human_record
from tests.audio.sound import SPEECH, SPEECH_RMS, Encoding, catalogue, clip, hold_music

CLEAN = {"rate": 16000, "encoding": "pcm16", "snr_db": None}


def level_db(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    part = audio[int(start * rate) : int(end * rate)]
    return float(10 * np.log10(np.mean(part**2) + 1e-12))


def loud(audio: np.ndarray, rate: int, start: float, end: float) -> bool:
    return bool(level_db(audio, rate, start, end) > 20 * np.log10(SPEECH_RMS) - 20)


def test_pbx_recording_is_two_channel_mu_law_at_8_khz(scripted_call: BuildCall) -> None:
    built = scripted_call("enquiry_with_hold")
    [path] = built.paths
    info = sf.info(path)
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "ULAW", 2, 8000)
    audio, rate = sf.read(path)
    assert audio.shape == (round(built.truth.duration * 8000), 2)
    assert rate == 8000 and np.abs(audio).max() < 1.0


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_line_is_on_its_speakers_channel_where_the_truth_puts_it(
    scripted_call: BuildCall, name: str
) -> None:
    built = scripted_call(name, **CLEAN)
    audio, rate = sf.read(built.paths[0])
    channel = {"staff": audio[:, 0], "customer": audio[:, 1]}
    lines = built.truth.utterances
    for line in lines:
        own, other = (
            channel[line.speaker],
            channel["customer" if line.speaker == "staff" else "staff"],
        )
        assert loud(own, rate, line.start, line.start + 0.15), line
        assert loud(own, rate, line.end - 0.15, line.end), line
        before = [u for u in lines if u.speaker == line.speaker and u.end <= line.start]
        if not before or line.start - before[-1].end > 0.3:
            assert not loud(own, rate, line.start - 0.25, line.start - 0.02), line
        talked_over = any(line.start < t.end and t.start < line.end for t in built.truth.talk_overs)
        if not talked_over:
            assert not loud(other, rate, line.start + 0.02, line.end - 0.02) or any(
                h.start < line.end and line.start < h.end for h in built.truth.holds
            ), line


def test_the_rule_breaker_truth_has_its_hold_talk_over_and_dead_air() -> None:
    truth = lay_out(SCENARIOS["rule_breaker"]())
    [hold] = truth.holds
    [talk_over] = truth.talk_overs
    [dead] = truth.dead_air
    assert hold.seconds == pytest.approx(75.0) and hold.kind == "tonal"
    assert talk_over.seconds == pytest.approx(2.0)
    assert dead.seconds == pytest.approx(12.0)
    assert truth.utterances[0].text == "喂，你好。"


def test_the_calls_done_right_have_no_talk_over_or_dead_air() -> None:
    for name in ("enquiry_with_hold", "complaint", "outbound_call"):
        truth = lay_out(SCENARIOS[name]())
        assert truth.talk_overs == () and truth.dead_air == (), name
        assert truth.duration <= 100.0, name
    assert [h.seconds for h in lay_out(SCENARIOS["enquiry_with_hold"]()).holds] == [
        pytest.approx(20.0)
    ]


def test_hold_music_plays_on_the_staff_side_and_dead_air_is_quiet(
    scripted_call: BuildCall,
) -> None:
    built = scripted_call("rule_breaker", **CLEAN)
    audio, rate = sf.read(built.paths[0])
    [hold], [dead] = built.truth.holds, built.truth.dead_air
    assert loud(audio[:, 0], rate, hold.start + 1, hold.end - 1)
    assert not loud(audio[:, 1], rate, hold.start + 1, hold.end - 1)
    assert level_db(audio, rate, dead.start + 0.2, dead.end - 0.2) < -80


def test_noise_sits_at_the_asked_snr_below_the_speech(scripted_call: BuildCall) -> None:
    built = scripted_call("rule_breaker", rate=16000, encoding="pcm16", snr_db=10.0)
    audio, rate = sf.read(built.paths[0])
    [dead] = built.truth.dead_air
    for side in (0, 1):
        noise = level_db(audio[:, side], rate, dead.start + 0.2, dead.end - 0.2)
        assert 20 * np.log10(SPEECH_RMS) - noise == pytest.approx(10.0, abs=0.3)


def test_staff_right_swaps_the_channels(scripted_call: BuildCall) -> None:
    left = sf.read(scripted_call("complaint", **CLEAN).paths[0])[0]
    right = sf.read(scripted_call("complaint", staff_channel="right", **CLEAN).paths[0])[0]
    assert np.array_equal(left[:, ::-1], right)


def test_legs_are_two_mono_files_and_mono_is_their_mix(scripted_call: BuildCall) -> None:
    stereo = sf.read(scripted_call("complaint", **CLEAN).paths[0])[0]
    legs = scripted_call("complaint", layout="legs", **CLEAN)
    staff, customer = (sf.read(p)[0] for p in legs.paths)
    assert [p.name.rsplit("-", 1)[1] for p in legs.paths] == ["staff.wav", "customer.wav"]
    assert np.array_equal(staff, stereo[:, 0]) and np.array_equal(customer, stereo[:, 1])
    mono = sf.read(scripted_call("complaint", layout="mono", **CLEAN).paths[0])[0]
    assert mono.ndim == 1
    assert np.allclose(mono, 0.7 * (staff + customer), atol=2 / 32768)


SHORT = Script(
    "short",
    "inbound",
    (Say("staff", "enq-s02"), Hold(3.0, music=False), Pause(4.0), Say("customer", "enq-c06")),
    "customer",
    1.0,
)


@pytest.mark.parametrize(
    ("encoding", "rate", "container"),
    [
        ("alaw", 8000, "WAV"),
        ("pcm16", 48000, "WAV"),
        ("flac", 16000, "FLAC"),
        ("ogg", 44100, "OGG"),
        ("mp3", 16000, "MP3"),
    ],
)
def test_other_encodings_decode_at_their_rate(
    tmp_path: Path, encoding: Encoding, rate: int, container: str
) -> None:
    built = build(SHORT, tmp_path, rate=rate, encoding=encoding, snr_db=30.0)
    info = sf.info(built.paths[0])
    assert (info.format, info.channels, info.samplerate) == (container, 2, rate)
    audio, _ = sf.read(built.paths[0])
    line = built.truth.utterances[0]
    assert loud(audio[:, 0], rate, line.start + 0.1, line.end - 0.1)


def test_a_pause_is_exact_dead_air_and_a_silent_hold_is_a_hold() -> None:
    truth = lay_out(SHORT)
    [hold], [dead] = truth.holds, truth.dead_air
    assert hold.kind == "silence" and truth.pbx_holds == (hold,)
    assert dead == Span(hold.end, truth.utterances[1].start)
    assert dead.seconds == pytest.approx(4.0)


def test_the_human_record_is_a_call_record_with_the_pbx_events(scripted_call: BuildCall) -> None:
    built = scripted_call("enquiry_with_hold")
    record = built.record
    assert "speech" not in record
    [hold] = built.truth.holds
    assert [(e["type"], e["t"]) for e in record["events"]] == [
        ("ringing", 0.0),
        ("answered", 5.0),
        ("hold", hold.start),
        ("resume", hold.end),
        ("hangup", built.truth.duration),
    ]
    assert [(u["start"], u["text"]) for u in record["utterances"]] == [
        (u.start, u.text) for u in built.truth.utterances
    ]
    call = msgspec.json.decode(json.dumps(record), type=CallRecord)
    [card] = score([call], default_policy())
    verdicts = {f.rule: f.verdict for f in card.findings}
    assert verdicts["hold.ask-before-hold"] == "pass" and verdicts["close.farewell"] == "pass"


def test_the_rule_breaker_fails_the_rules_it_breaks() -> None:
    script = SCENARIOS["rule_breaker"]()
    record = human_record(script, lay_out(script))
    call = msgspec.json.decode(json.dumps(record), type=CallRecord)
    [card] = score([call], default_policy())
    failed = {f.rule for f in card.findings if f.verdict == "fail"}
    assert {
        "inbound.greeting-with-club-name",
        "hold.max-duration",
        "hold.ask-before-hold",
        "talk.no-talk-over",
        "talk.no-filler-strings",
        "close.farewell",
        "close.customer-hangs-up-first",
    } <= failed


def test_real_recorded_speech_is_in_the_outbound_call() -> None:
    truth = lay_out(SCENARIOS["outbound_call"]())
    real = [u for u in truth.utterances if u.clip.startswith("aishell-")]
    assert [u.text for u in real] == ["一二線城市雖然也處於調整中", "甚至出現交易幾乎停滯的情況"]
    assert all(u.speaker == "customer" and u.end - u.start > 3.0 for u in real)


def test_every_line_has_its_clip_and_the_clips_stay_small() -> None:
    for line_id, line in catalogue().items():
        speech = clip(line_id)
        assert speech.text == line["text"] and len(speech.audio) > 0.3 * 16000, line_id
        if "source" not in line:
            info = sf.info(SPEECH / f"{line_id}.flac")
            assert (info.channels, info.samplerate) == (1, 16000), line_id
    assert sum(p.stat().st_size for p in SPEECH.iterdir()) < 6_000_000


def test_tonal_and_hard_music_differ_in_their_spectral_peaks() -> None:
    def peaks_db(audio: np.ndarray) -> float:
        n = 4096
        frames = [audio[i : i + n] * np.hanning(n) for i in range(0, len(audio) - n, n)]
        spectrum = 10 * np.log10(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0))
        width = 39  # about 150 Hz at 16 kHz
        padded = np.pad(spectrum, width // 2, mode="edge")
        median = np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
        return float(np.percentile(spectrum - median, 99.5))

    speech = np.concatenate([clip(c).audio for c in ("enq-s01", "enq-s04", "cpl-s05")])
    assert peaks_db(hold_music(8.0, "tonal")) > 20 > 12 > peaks_db(hold_music(8.0, "hard"))
    assert peaks_db(speech) < 12


@pytest.mark.parametrize("name", ["enquiry_with_hold", "complaint", "outbound_call"])
def test_the_calls_done_right_pass_every_rule_that_applies(name: str) -> None:
    script = SCENARIOS[name]()
    record = human_record(script, lay_out(script))
    [card] = score([msgspec.json.decode(json.dumps(record), type=CallRecord)], default_policy())
    assert [f.rule for f in card.findings if f.verdict == "fail"] == []
    assert card.score == 100.0
    if name == "complaint":  # long enough for the listening share to count
        assert {f.rule: f.verdict for f in card.findings}["talk.listen-share"] == "pass"
