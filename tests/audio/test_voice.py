from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from callsop.audio import Heard, hear, playable
from callsop.audio.features import narrow_peaks_db
from callsop.audio.vad import FRAME_S, MERGE_GAP_S, MIN_SEGMENT_S, detect, segments
from callsop.audio.voice import analyse
from tests.audio.aishell_calls import RATE, Call, clip, scripted_call, tonal_music


@pytest.fixture(scope="module")
def call() -> Call:
    return scripted_call()


@pytest.fixture(scope="module")
def heard(call: Call, tmp_path_factory: pytest.TempPathFactory) -> Heard:
    return hear([call.write(tmp_path_factory.mktemp("voice") / "call.wav")])


def near(found: tuple[float, float], truth: tuple[float, float], within: float) -> bool:
    return abs(found[0] - truth[0]) <= within and abs(found[1] - truth[1]) <= within


def test_every_line_is_one_utterance_of_its_speaker_starting_on_time(
    call: Call, heard: Heard
) -> None:
    said = sorted(call.lines, key=lambda line: line[1])
    assert [(u["speaker"]) for u in heard.utterances] == [s for s, _, _ in said]
    for u, (_, start, end) in zip(heard.utterances, said, strict=True):
        assert abs(u["start"] - start) <= 0.3
        assert abs(u["end"] - end) <= 0.5
        assert u["text"] == "" and u["source"] == "audio"


def test_syllables_count_the_characters_said(heard: Heard) -> None:
    # Each line is one AISHELL sentence of 13 characters.
    counts = [u["syllables"] for u in heard.utterances]
    assert all(10 <= n <= 16 for n in counts), counts
    assert 12 <= sum(counts) / len(counts) <= 14


def test_the_talk_over_is_found_within_a_second(heard: Heard) -> None:
    # The staff's line runs to 13.4 s; the customer starts at 12.0 s.
    assert len(heard.talk_overs) == 1
    assert near(heard.talk_overs[0], (12.0, 13.4), 1.0)


def test_the_hold_music_is_a_hold_not_speech(call: Call, heard: Heard) -> None:
    assert call.hold is not None
    holds = [e for e in heard.events if e["type"] == "hold"]
    resumes = [e for e in heard.events if e["type"] == "resume"]
    assert len(holds) == len(resumes) == 1
    assert near((holds[0]["t"], resumes[0]["t"]), call.hold, 1.0)
    assert all(e["source"] == "audio" for e in heard.events)
    assert not [u for u in heard.utterances if call.hold[0] < u["start"] < call.hold[1]]


def test_dead_air_is_found_and_is_not_a_hold(heard: Heard) -> None:
    # The customer's line ends at 42.4 s; the staff speaks again at 50.0 s.
    assert len(heard.dead_air) == 1
    assert near(heard.dead_air[0], (42.4, 50.0), 1.0)


def test_speech_says_voice_only_and_names_the_recording(heard: Heard) -> None:
    assert heard.speech == {"source": "voice-only", "recording": "call.wav"}
    assert heard.tracks == 2
    assert heard.duration == pytest.approx(60.0, abs=0.01)


def test_a_noisy_line_still_gives_the_turns(call: Call, tmp_path: Path) -> None:
    path = tmp_path / "noisy.wav"
    # The AISHELL speech sits near -39 dBFS: this noise is about 10 dB below it.
    sf.write(path, call.stereo(noise_db=-49.0), RATE, subtype="ULAW")
    noisy = hear([path])
    assert [u["speaker"] for u in noisy.utterances] == [
        s for s, _, _ in sorted(call.lines, key=lambda line: line[1])
    ]
    assert len(noisy.talk_overs) == 1
    assert [e["type"] for e in noisy.events] == ["hold", "resume"]


def test_staff_channel_right_and_legs_give_the_same_speakers(
    call: Call, heard: Heard, tmp_path: Path
) -> None:
    swapped = hear([call.write(tmp_path / "swapped.wav", swap=True)], staff_channel="right")
    staff, customer = tmp_path / "staff.wav", tmp_path / "customer.wav"
    sf.write(staff, call.staff, RATE, subtype="ULAW")
    sf.write(customer, call.customer, RATE, subtype="ULAW")
    legs = hear([staff, customer], name="call 42")

    expected = [u["speaker"] for u in heard.utterances]
    assert [u["speaker"] for u in swapped.utterances] == expected
    assert [u["speaker"] for u in legs.utterances] == expected
    assert legs.speech["recording"] == "call 42"


def test_mono_is_speaker_other_with_no_talk_over(tmp_path: Path) -> None:
    track = np.zeros(RATE * 12, np.float32)
    speech = clip("BAC009S0764W0121")
    track[RATE : RATE + len(speech)] = speech
    track[RATE * 7 : RATE * 7 + len(speech)] = speech
    path = tmp_path / "mono.wav"
    sf.write(path, track, RATE)

    mono = hear([path])

    assert mono.tracks == 1
    assert [u["speaker"] for u in mono.utterances] == ["other", "other"]
    assert mono.talk_overs == []
    assert abs(mono.utterances[1]["start"] - 7.0) <= 0.3


def test_tonal_music_has_narrow_peaks_and_speech_does_not() -> None:
    assert narrow_peaks_db(tonal_music(8.0)) > 15
    speech = np.concatenate([clip(name) for name in ("BAC009S0764W0121", "BAC009S0764W0122")])
    assert narrow_peaks_db(speech) < 15


def test_long_speech_that_is_really_music_becomes_a_hold() -> None:
    # As if the VAD had let 8 s of music through as speech on the customer's side.
    staff = np.zeros(RATE * 20, np.float32)
    customer = np.zeros_like(staff)
    speech = clip("BAC009S0764W0121")
    staff[RATE : RATE + len(speech)] = speech
    staff[RATE * 15 : RATE * 15 + len(speech)] = speech
    customer[RATE * 5 : RATE * 13] = tonal_music(8.0)
    tracks = {"staff": staff, "customer": customer}
    segments = {"staff": detect(staff), "customer": [(5.0, 13.0)]}

    result = analyse(tracks, segments)

    assert [u.speaker for u in result.utterances] == ["staff", "staff"]
    assert len(result.holds) == 1 and near(result.holds[0], (5.0, 13.0), 1.0)


def test_the_record_is_a_call_record(heard: Heard) -> None:
    record = heard.record(
        id="xinyi-0042",
        started_at="2026-11-27T10:02:11+08:00",
        direction="inbound",
        club="xinyi",
        customer_phone="0912345678",
    )
    assert record["schema"] == "callsop.call/1"
    assert record["customer"] == {"phone": "0912345678"}
    assert record["club"] == "xinyi"
    assert record["utterances"] == heard.utterances
    assert [u["start"] for u in record["utterances"]] == sorted(
        u["start"] for u in record["utterances"]
    )
    assert not [e for e in record["events"] if e["type"] in ("answered", "hangup")]


def test_progress_runs_from_start_to_end(call: Call, tmp_path: Path) -> None:
    seen: list[float] = []
    hear([call.write(tmp_path / "call.wav")], on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and seen[0] < 1.0


def test_playable_copy_is_stereo_ogg_staff_left(call: Call, tmp_path: Path) -> None:
    out = tmp_path / "call.ogg"
    playable([call.write(tmp_path / "swapped.wav", swap=True)], out, staff_channel="right")
    info = sf.info(out)
    assert (info.format, info.channels) == ("OGG", 2)
    audio, rate = sf.read(out, dtype="float32")
    first_line = slice(int(1.2 * rate), int(4.2 * rate))  # only the staff speaks then
    assert np.abs(audio[first_line, 0]).max() > 10 * np.abs(audio[first_line, 1]).max()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_playable_copy_of_a_long_call_is_whole(tmp_path: Path) -> None:
    # libsndfile's Vorbis encoder crashed the process on ~3 min written at once
    rate = 8000
    minutes = 4
    t = np.arange(minutes * 60 * rate) / rate
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    source = tmp_path / "long.wav"
    sf.write(source, np.stack([tone, tone[::-1]], axis=1), rate, subtype="ULAW")
    out = tmp_path / "long.ogg"
    playable([source], out)
    info = sf.info(out)
    assert info.channels == 2
    assert info.duration == pytest.approx(minutes * 60, abs=0.1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0, width=32), max_size=3000))
def test_segments_are_ordered_long_enough_and_apart(probs: list[float]) -> None:
    found = segments(np.asarray(probs, dtype=np.float32))
    for start, end in found:
        assert 0 <= start < end <= len(probs) * FRAME_S + 1e-9
        assert end - start >= MIN_SEGMENT_S - 1e-9
    for (_, end), (start, _) in itertools.pairwise(found):
        assert start - end >= MERGE_GAP_S - 1e-9


def test_hysteresis_holds_speech_through_a_dip_but_not_a_drop() -> None:
    probs = np.array([0.9] * 50 + [0.4] * 10 + [0.9] * 50 + [0.1] * 60 + [0.45] * 50, np.float32)
    assert segments(probs) == [(0.0, 1.1)]
