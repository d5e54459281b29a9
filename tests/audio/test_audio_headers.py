"""Headers that lie, headerless MixMonitor files, and one mix stored on both channels."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callsop.audio import hear
from callsop.audio.decode import AudioError, read_recording
from tests.audio.aishell_calls import RATE, clip, scripted_call

SPEECH = clip("BAC009S0764W0121")  # 8 kHz


def two_channels() -> np.ndarray:
    rng = np.random.default_rng(5)
    audio = rng.normal(0, 0.003, (8 * RATE, 2)).astype(np.float32)
    audio[RATE : RATE + len(SPEECH), 0] += SPEECH
    audio[RATE * 5 : RATE * 5 + len(SPEECH) // 2, 1] += SPEECH[: len(SPEECH) // 2]
    return audio


def refusal(path: Path) -> str:
    with pytest.raises(AudioError) as caught:
        read_recording([path], rate=8000)
    return caught.value.reason


def patched(path: Path, at: int, value: int) -> Path:
    data = bytearray(path.read_bytes())
    data[at : at + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(data))
    return path


def test_a_riff_size_too_large_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "riff.wav"
    sf.write(path, two_channels(), RATE, subtype="PCM_16")
    riff = struct.unpack("<I", path.read_bytes()[4:8])[0]
    patched(path, 4, riff + 8)

    recording = read_recording([path], rate=8000)

    assert recording.duration == pytest.approx(8.0, abs=0.01)


def test_a_placeholder_data_size_from_a_pipe_reads_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "piped.wav"
    sf.write(path, two_channels(), RATE, subtype="PCM_16")
    data_at = path.read_bytes().index(b"data") + 4
    patched(path, data_at, 0xFFFFFFFF)
    patched(path, 4, 0xFFFFFFFF)

    recording = read_recording([path], rate=8000)

    assert recording.duration == pytest.approx(8.0, abs=0.01)
    assert np.abs(recording.tracks["customer"][RATE * 5 : RATE * 6]).max() > 0.02


def test_a_wav_whose_data_ends_before_its_header_says_is_still_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, two_channels(), RATE, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.99)])
    assert refusal(path).startswith("cut off")


def test_an_mp3_whose_header_gives_too_few_frames_is_refused_not_truncated(
    tmp_path: Path,
) -> None:
    # A short file's Xing header, then a long file's audio: libsndfile stops at the header's count.
    short, long = tmp_path / "short.mp3", tmp_path / "long.mp3"
    sf.write(short, two_channels()[: RATE // 2], RATE, format="MP3")
    sf.write(long, np.tile(two_channels(), (4, 1)), RATE, format="MP3")
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(short.read_bytes() + long.read_bytes())

    reason = refusal(joined)

    assert "header says 0.5 s" in reason and "cannot be read" in reason
    assert read_recording([long], rate=8000).duration == pytest.approx(32.0, abs=0.1)


def raw(path: Path, audio: np.ndarray) -> Path:
    path.write_bytes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_mixmonitor_raw_is_8_khz_16_bit_two_channels(tmp_path: Path) -> None:
    audio = two_channels()
    for suffix in (".raw", ".sln"):
        recording = read_recording([raw(tmp_path / f"call{suffix}", audio)], rate=8000)
        assert recording.duration == pytest.approx(8.0, abs=0.01)
        assert np.abs(recording.tracks["staff"] - audio[:, 0]).max() < 2 / 32767
        assert np.abs(recording.tracks["customer"][RATE * 5 : RATE * 6]).max() > 0.02


def test_sln16_is_16_khz(tmp_path: Path) -> None:
    path = raw(tmp_path / "call.sln16", two_channels())
    assert read_recording([path], rate=8000).duration == pytest.approx(4.0, abs=0.01)


def test_a_raw_file_of_part_of_a_frame_is_refused_saying_how_it_is_read(tmp_path: Path) -> None:
    path = raw(tmp_path / "call.raw", two_channels())
    path.write_bytes(path.read_bytes() + b"\x00\x01")
    reason = refusal(path)
    assert "not a whole number of frames" in reason
    assert "two channels of signed 16-bit little-endian" in reason


def test_one_mix_copied_to_both_channels_is_heard_as_one_track(tmp_path: Path) -> None:
    mix = two_channels().sum(axis=1)
    path = tmp_path / "dup.wav"
    sf.write(path, np.stack([mix, mix], axis=1), RATE, subtype="ULAW")

    heard = hear([path])

    assert heard.tracks == 1
    assert [u["speaker"] for u in heard.utterances] == ["other", "other"]
    assert heard.talk_overs == []


def test_a_call_with_echo_keeps_its_two_channels(tmp_path: Path) -> None:
    call = scripted_call()
    audio = call.stereo()
    audio[:, 1] += 0.1 * audio[:, 0]  # the staff heard 20 dB down on the customer's line
    path = tmp_path / "echo.wav"
    sf.write(path, audio, RATE, subtype="ULAW")

    recording = read_recording([path], rate=8000)

    assert set(recording.tracks) == {"staff", "customer"}
