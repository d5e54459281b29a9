"""Voice metrics on the scripted desk calls (neural Mandarin voices, PBX-like 8 kHz µ-law)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from callsop.audio import Heard, hear
from tests.audio.scripted import SCENARIOS, Built, Span, build

CONDITIONS = [("tonal", 20.0), ("hard", 10.0)]  # music kind, line SNR in dB


def heard_call(
    folder: Path, scenario: str, music: str, snr: float, **kw: object
) -> tuple[Built, Heard]:
    built = build(SCENARIOS[scenario](), folder, music=music, snr_db=snr, **kw)  # type: ignore[arg-type]
    return built, hear(built.paths, staff_channel=built.staff_channel)


def start_errors(built: Built, heard: Heard, *, turns_only: bool = False) -> list[float]:
    """For each true line, how far the nearest heard start of the same speaker is.

    `turns_only`: only lines that open a turn. A line that follows the same
    speaker's by under a second is heard as part of it, as a listener would.
    """
    errors = []
    lines = built.truth.utterances
    for before, line in zip((None, *lines), lines, strict=False):
        if turns_only and before and before.speaker == line.speaker and line.start - before.end < 1:
            continue
        starts = [u["start"] for u in heard.utterances if u["speaker"] == line.speaker]
        errors.append(min(abs(s - line.start) for s in starts))
    return errors


def matches(found: list[tuple[float, float]], truth: tuple[Span, ...], within: float = 1.0) -> bool:
    if len(found) != len(truth):
        return False
    return all(
        abs(a - t.start) <= within and abs(b - t.end) <= within
        for (a, b), t in zip(found, truth, strict=True)
    )


@pytest.mark.parametrize(("music", "snr"), CONDITIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_turns_holds_talk_over_and_dead_air_match_the_truth(
    tmp_path: Path, scenario: str, music: str, snr: float
) -> None:
    built, heard = heard_call(tmp_path, scenario, music, snr)

    errors = start_errors(built, heard)
    assert statistics.median(errors) <= 0.3, errors
    turns = start_errors(built, heard, turns_only=True)
    assert max(turns) <= 1.0, turns
    holds = [(e["t"], r["t"]) for e, r in zip(heard.events[::2], heard.events[1::2], strict=True)]
    assert [e["type"] for e in heard.events] == ["hold", "resume"] * len(built.truth.holds)
    assert matches(holds, built.truth.holds), (holds, built.truth.holds)
    assert matches(heard.talk_overs, built.truth.talk_overs), heard.talk_overs
    assert matches(heard.dead_air, built.truth.dead_air), heard.dead_air
    for speaker in ("staff", "customer"):
        said = [u.text for u in built.truth.utterances if u.speaker == speaker]
        characters = len(re.findall(r"[\u4e00-\u9fff]", "".join(said)))
        counted = sum(u["syllables"] for u in heard.utterances if u["speaker"] == speaker)
        assert abs(counted - characters) <= 0.15 * characters, (speaker, counted, characters)


def test_legs_and_the_right_channel_give_the_same_turns(tmp_path: Path) -> None:
    _, stereo = heard_call(tmp_path / "a", "rule_breaker", "tonal", 20.0)
    _, legs = heard_call(tmp_path / "b", "rule_breaker", "tonal", 20.0, layout="legs")
    _, right = heard_call(tmp_path / "c", "rule_breaker", "tonal", 20.0, staff_channel="right")

    turns = [u["speaker"] for u in stereo.utterances]
    assert [u["speaker"] for u in legs.utterances] == turns
    assert [u["speaker"] for u in right.utterances] == turns
    assert legs.talk_overs == stereo.talk_overs
    assert legs.speech["recording"].endswith("-staff.wav + xinyi-20261201-0104-customer.wav")


def test_a_mono_recording_has_one_speaker_and_still_its_hold(tmp_path: Path) -> None:
    built, mono = heard_call(tmp_path, "enquiry_with_hold", "tonal", 20.0, layout="mono")

    assert mono.tracks == 1
    assert {u["speaker"] for u in mono.utterances} == {"other"}
    assert mono.talk_overs == []
    holds = [(mono.events[0]["t"], mono.events[1]["t"])]
    assert matches(holds, built.truth.holds)
