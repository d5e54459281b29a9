from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from callsop.audio import decode
from callsop.audio.decode import AudioError, read_file, read_recording
from tests.audio.aishell_calls import clip

SPEECH_16K = clip("BAC009S0764W0121", 16000)


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS per 20 ms: compares lossy copies that a codec shifts or reshapes slightly."""
    hop = rate // 50
    n = len(samples) // hop
    return np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))


def speech_on_left(rate: int) -> np.ndarray:
    speech = np.asarray(soxr.resample(SPEECH_16K, 16000, rate), dtype=np.float32)
    silence = np.zeros_like(speech)
    return np.stack([speech, silence], axis=1)


FORMATS = [
    ("pcm.wav", "WAV", "PCM_16", 16000),
    ("ulaw.wav", "WAV", "ULAW", 8000),
    ("alaw.wav", "WAV", "ALAW", 8000),
    ("call.flac", "FLAC", "PCM_16", 44100),
    ("vorbis.ogg", "OGG", "VORBIS", 22050),
    ("opus.ogg", "OGG", "OPUS", 48000),
    ("call.mp3", "MP3", "MPEG_LAYER_III", 32000),
    ("phone.mp3", "MP3", "MPEG_LAYER_III", 8000),
]


@pytest.mark.parametrize(("name", "container", "subtype", "rate"), FORMATS)
def test_each_format_decodes_to_the_speech_on_the_staff_channel(
    tmp_path: Path, name: str, container: str, subtype: str, rate: int
) -> None:
    path = tmp_path / name
    sf.write(path, speech_on_left(rate), rate, format=container, subtype=subtype)

    recording = read_recording([path], rate=8000)

    assert set(recording.tracks) == {"staff", "customer"}
    assert recording.duration == pytest.approx(len(SPEECH_16K) / 16000, abs=0.06)
    staff = recording.tracks["staff"]
    assert staff.dtype == np.float32
    truth = envelope(np.asarray(soxr.resample(SPEECH_16K, 16000, 8000)), 8000)
    heard = envelope(staff, 8000)[: len(truth)]
    assert np.corrcoef(truth[: len(heard)], heard)[0, 1] > 0.9
    customer_rms = float(np.sqrt((recording.tracks["customer"] ** 2).mean()))
    assert customer_rms < 0.05 * float(np.sqrt((staff**2).mean()))


def test_staff_on_the_right(tmp_path: Path) -> None:
    path = tmp_path / "swapped.wav"
    sf.write(path, speech_on_left(8000)[:, ::-1], 8000, subtype="ULAW")

    left = read_recording([path], rate=8000)
    right = read_recording([path], rate=8000, staff_channel="right")

    assert np.abs(left.tracks["customer"]).max() > 0.02
    assert np.abs(left.tracks["staff"]).max() < 0.002
    assert np.array_equal(right.tracks["staff"], left.tracks["customer"])


def test_two_legs_of_different_rates_and_lengths(tmp_path: Path) -> None:
    staff, customer = tmp_path / "staff.wav", tmp_path / "customer.wav"
    sf.write(staff, SPEECH_16K, 16000)
    sf.write(customer, np.zeros(8000 * 6, np.float32), 8000, subtype="ALAW")

    recording = read_recording([staff, customer], rate=8000)

    assert recording.names == ("staff.wav", "customer.wav")
    assert len(recording.tracks["staff"]) == len(recording.tracks["customer"]) == 8000 * 6
    assert np.abs(recording.tracks["staff"][: 8000 * 3]).max() > 0.02
    assert np.abs(recording.tracks["staff"][8000 * 4 :]).max() == 0


def test_mono_is_one_track_of_other(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, SPEECH_16K, 16000)

    recording = read_recording([path], rate=16000)

    assert list(recording.tracks) == ["other"]
    assert np.allclose(recording.tracks["other"], SPEECH_16K, atol=1e-4)


def test_reading_in_small_blocks_gives_the_same_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.tile(speech_on_left(48000), (5, 1)), 48000)
    whole = read_file(path, rate=8000)

    monkeypatch.setattr(decode, "BLOCK_FRAMES", 4096)
    blocked = read_file(path, rate=8000)

    assert blocked.shape == whole.shape
    assert np.abs(blocked - whole).max() < 1e-3


def refusal(path: Path) -> str:
    with pytest.raises(AudioError) as caught:
        read_recording([path], rate=8000)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value.reason


def test_refuses_what_is_not_audio(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("這不是錄音", encoding="utf-8")
    assert refusal(text).startswith("not audio")
    assert refusal(tmp_path / "missing.wav") == "no such file"
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert refusal(empty).startswith("empty")


def test_refuses_a_header_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((0, 2), np.float32), 8000)
    assert refusal(path).startswith("empty")


@pytest.mark.parametrize(
    ("name", "container", "subtype"),
    [
        ("cut.wav", "WAV", "ULAW"),
        ("cut.ogg", "OGG", "VORBIS"),
        ("cut.flac", "FLAC", "PCM_16"),
        ("cut.mp3", "MP3", "MPEG_LAYER_III"),
    ],
)
def test_refuses_a_cut_off_file(tmp_path: Path, name: str, container: str, subtype: str) -> None:
    path = tmp_path / name
    sf.write(path, np.tile(speech_on_left(16000), (3, 1)), 16000, format=container, subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert refusal(path).startswith("cut off")


def test_refuses_three_channels_and_rates_outside_the_telephone_range(tmp_path: Path) -> None:
    three = tmp_path / "three.wav"
    sf.write(three, np.zeros((8000, 3), np.float32), 8000)
    assert refusal(three) == "3 channels, expected 1 or 2"
    for rate in (4000, 96000):
        path = tmp_path / f"r{rate}.wav"
        sf.write(path, np.zeros(rate, np.float32), rate)
        assert refusal(path) == f"rate {rate} Hz is outside 8000–48000 Hz"


def test_refuses_a_two_channel_leg(tmp_path: Path) -> None:
    staff, customer = tmp_path / "staff.wav", tmp_path / "customer.wav"
    sf.write(staff, speech_on_left(8000), 8000)
    sf.write(customer, SPEECH_16K, 16000)
    with pytest.raises(
        AudioError, match=r"staff\.wav: 2 channels, expected 1 \(one file per leg\)"
    ):
        read_recording([staff, customer], rate=8000)


def test_refuses_a_recording_over_the_length_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(8000 * 12, np.float32), 8000)
    monkeypatch.setattr(decode, "MAX_SECONDS", 3600)
    assert read_file(path, rate=8000).shape == (1, 8000 * 12)
    monkeypatch.setattr(decode, "MAX_SECONDS", 10)
    assert "longer than the limit" in refusal(path)
