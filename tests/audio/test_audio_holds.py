"""Dead air against holds: digital silence, noise bursts, and the side music plays on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from callsop.audio import Heard, hear
from tests.audio.aishell_calls import RATE, clip, tonal_music

FIRST = clip("BAC009S0764W0121")
SECOND = clip("BAC009S0764W0122")
LINE_NOISE = 0.003


def line(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, LINE_NOISE, int(seconds * RATE)).astype(np.float32)


def put(track: np.ndarray, at: float, sound: np.ndarray) -> float:
    i = int(at * RATE)
    track[i : i + len(sound)] += sound[: len(track) - i]
    return at + len(sound) / RATE


def dialogue(seconds: float, start: float, pause: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Staff, customer, then `pause` s of nobody speaking, then the staff again."""
    staff, customer = line(seconds, 1), line(seconds, 2)
    said = put(staff, start, FIRST)
    said = put(customer, said + 0.5, SECOND)
    put(staff, said + pause, FIRST)
    return staff, customer, said


def stereo(path: Path, staff: np.ndarray, customer: np.ndarray) -> Path:
    sf.write(path, np.stack([staff, customer], axis=1), RATE, subtype="PCM_16")
    return path


def one_dead_air(heard: Heard, start: float, end: float) -> None:
    assert heard.events == []
    assert len(heard.dead_air) == 1
    ((found_start, found_end),) = heard.dead_air
    assert abs(found_start - start) <= 1.0 and abs(found_end - end) <= 1.0


def test_a_padded_leg_does_not_turn_dead_air_into_a_hold(tmp_path: Path) -> None:
    staff, customer, quiet_from = dialogue(40.0, 1.0, 12.0)
    staff_leg = staff[: int((quiet_from + 12.0 + len(FIRST) / RATE + 1.0) * RATE)]
    sf.write(tmp_path / "staff.wav", staff_leg, RATE, subtype="PCM_16")
    sf.write(tmp_path / "customer.wav", customer, RATE, subtype="PCM_16")

    heard = hear([tmp_path / "staff.wav", tmp_path / "customer.wav"])

    one_dead_air(heard, quiet_from, quiet_from + 12.0)


def test_a_side_silent_before_the_answer_does_not_turn_dead_air_into_a_hold(
    tmp_path: Path,
) -> None:
    staff, customer, quiet_from = dialogue(36.0, 9.0, 12.0)
    staff[: 8 * RATE] = 0.0  # the staff's side is not connected while it rings

    heard = hear([stereo(tmp_path / "prering.wav", staff, customer)])

    one_dead_air(heard, quiet_from, quiet_from + 12.0)


def test_a_noise_burst_on_the_callers_side_is_no_hold(tmp_path: Path) -> None:
    staff, customer, quiet_from = dialogue(30.0, 1.0, 12.0)
    burst = np.random.default_rng(3).normal(0, 3 * LINE_NOISE, int(4.5 * RATE))
    put(customer, quiet_from + 4.0, burst.astype(np.float32))

    heard = hear([stereo(tmp_path / "burst.wav", staff, customer)])

    one_dead_air(heard, quiet_from, quiet_from + 12.0)


def test_a_noise_burst_on_the_staff_side_is_too_short_for_a_hold(tmp_path: Path) -> None:
    staff, customer, quiet_from = dialogue(30.0, 1.0, 12.0)
    burst = np.random.default_rng(4).normal(0, 3 * LINE_NOISE, int(4.5 * RATE))
    put(staff, quiet_from + 4.0, burst.astype(np.float32))

    heard = hear([stereo(tmp_path / "burst.wav", staff, customer)])

    one_dead_air(heard, quiet_from, quiet_from + 12.0)


def test_music_on_the_staff_side_is_a_hold_on_a_noisy_line(tmp_path: Path) -> None:
    staff, customer, quiet_from = dialogue(40.0, 1.0, 20.0)
    put(staff, quiet_from + 1.0, 0.3 * tonal_music(18.0))

    heard = hear([stereo(tmp_path / "hold.wav", staff, customer)])

    assert [e["type"] for e in heard.events] == ["hold", "resume"]
    hold, resume = (e["t"] for e in heard.events)
    assert abs(hold - (quiet_from + 1.0)) <= 1.0 and abs(resume - (quiet_from + 19.0)) <= 1.0
