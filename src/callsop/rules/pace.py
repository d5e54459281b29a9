"""§3, §4 The pace of the conversation: speech rate, listening, talking over,
and silence. These read who spoke when, so a recording heard as voice alone
(no words) is judged on them as well as a transcript."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from callsop.engine.call import Call
from callsop.engine.findings import Outcome, failed, not_applicable, passed
from callsop.engine.transcript import Transcript
from callsop.rules.base import Rule, answered_or_na, seconds, voice
from callsop.rules.common import talk_overs
from callsop.rules.hold import holds_of


def _on_voice(check: Callable[[Call], Outcome]) -> Callable[[Call], Outcome]:
    """A rule of timing: on a recording its verdict rests on voice activity,
    whether or not a recogniser also gave the words."""

    def judged(call: Call) -> Outcome:
        outcome = check(call)
        if outcome.verdict == "na" or not call.recorded:
            return outcome
        return msgspec.structs.replace(outcome, basis="voice")

    return judged


def _voice_answered(call: Call) -> Transcript | Outcome:
    if gate := answered_or_na(call):
        return gate
    return voice(call)


def _syllables(call: Call, t: Transcript, turns: list[int]) -> list[int]:
    """Syllables in each of `turns`: its characters, as a person wrote them
    down; from a recording, the syllables counted in the audio when there are
    any (a recogniser drops fillers and runs digits together)."""
    recorded, utterances, norms = call.recorded, t.utterances, t.norms
    counted = []
    for index in turns:
        count = utterances[index].syllables
        if count is not None and (recorded or not norms[index]):
            counted.append(count)
        else:
            counted.append(len(norms[index]))
    return counted


def check_speech_rate(call: Call) -> Outcome:
    t = _voice_answered(call)
    if isinstance(t, Outcome):
        return t
    s = call.policy.speech
    spoken = t.staff_s
    if spoken < s.min_staff_speech_s:
        return not_applicable(
            f"{seconds(spoken)} of staff speech (< {seconds(s.min_staff_speech_s)})"
        )
    counted = _syllables(call, t, t.staff)
    if not any(counted):
        return not_applicable("no words or syllable counts for the staff's turns")
    rate = sum(counted) / spoken * 60
    band = f"{s.min_chars_per_minute:g}–{s.max_chars_per_minute:g}"
    if rate < s.min_chars_per_minute:
        return failed(f"staff spoke {rate:.0f} characters a minute (< {s.min_chars_per_minute:g})")
    if rate > s.max_chars_per_minute:
        return failed(f"staff spoke {rate:.0f} characters a minute (> {s.max_chars_per_minute:g})")
    return passed(f"staff spoke {rate:.0f} characters a minute ({band})")


def check_listen_share(call: Call) -> Outcome:
    t = _voice_answered(call)
    if isinstance(t, Outcome):
        return t
    s = call.policy.speech
    talk = t.talk_s
    if talk < s.min_talk_for_share_s:
        return not_applicable(f"{seconds(talk)} of talk (< {seconds(s.min_talk_for_share_s)})")
    share = t.staff_s / talk
    limit = f"{s.max_staff_share:.0%}"
    if share > s.max_staff_share:
        return failed(f"staff talked {share:.0%} of the talk (> {limit})")
    return passed(f"staff talked {share:.0%} of the talk (≤ {limit})")


def check_no_talk_over(call: Call) -> Outcome:
    t = _voice_answered(call)
    if isinstance(t, Outcome):
        return t
    grace = call.policy.timing.talk_over_grace_s
    overs = talk_overs(call, t)
    if overs:
        s, c, early = overs[0]
        return failed(
            f"staff started {early:.1f} s before the customer finished (> {grace:g} s)",
            t.turn(c),
            t.turn(s),
        )
    return passed("never talked over the customer")


def silences(call: Call, t: Transcript) -> list[tuple[float, float]]:
    """Stretches between the first and the last turn when nobody spoke,
    outside every hold, of at least the policy's dead-air limit."""
    limit = call.policy.timing.max_dead_air_s
    # A hold announced in speech is a hold here too, as it is for the hold rules.
    holds = [(h.start, h.end if h.end is not None else float("inf")) for h in holds_of(call)[0]]
    found = []
    spoken_until = None
    for index in t.order:
        begin, end = t.begins[index], t.ends[index]
        if spoken_until is not None and begin - spoken_until >= limit:
            quiet = _outside(spoken_until, begin, holds)
            found += [q for q in quiet if q[1] - q[0] >= limit]
        spoken_until = end if spoken_until is None else max(spoken_until, end)
    return found


def _outside(
    start: float, end: float, holds: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """[start, end) less the holds."""
    pieces = [(start, end)]
    for hold_start, hold_end in holds:
        pieces = [
            part
            for a, b in pieces
            for part in ((a, min(b, hold_start)), (max(a, hold_end), b))
            if part[1] > part[0]
        ]
    return pieces


def check_no_dead_air(call: Call) -> Outcome:
    if gate := answered_or_na(call):
        return gate
    if not call.timed_by_audio:
        return not_applicable("no recording: silence is measured in the audio")
    t = voice(call)
    if isinstance(t, Outcome):
        if call.one_track and call.voice is not None:
            t = call.voice  # silence needs no speakers
        else:
            return t
    limit = call.policy.timing.max_dead_air_s
    quiet = silences(call, t)
    if quiet:
        start, end = max(quiet, key=lambda q: q[1] - q[0])
        return failed(
            f"{seconds(end - start)} of silence at {start:g} s, outside a hold (> {seconds(limit)})",
            {"t": start},
            {"t": end},
        )
    return passed(f"no silence of {seconds(limit)} or more outside a hold")


RULES = (
    Rule(
        id="talk.speech-rate",
        clause="3(2), 4(3)",
        title="語速適中",
        sources=("speech",),
        applies="answered calls with at least 30 s of staff speech",
        checks="staff speak at 120–300 characters a minute (without punctuation or spaces; "
        "in a recording, syllables heard)",
        applies_zh="館員說話至少 30 秒的已接通通話",
        checks_zh="館員語速為每分鐘 120–300 字（不計標點與空格；錄音則以聽到的音節計）",
        why="控制好語音、語調，保持好說話速度的快慢。語言精練，吐字清晰。",
        options=(
            "speech.min_chars_per_minute",
            "speech.max_chars_per_minute",
            "speech.min_staff_speech_s",
        ),
        check=_on_voice(check_speech_rate),
    ),
    Rule(
        id="talk.listen-share",
        clause="3(5)",
        title="多聽少說",
        sources=("speech",),
        applies="answered calls with at least 60 s of talk",
        checks="staff talk for at most 70% of the talk time",
        applies_zh="談話至少 60 秒的已接通通話",
        checks_zh="館員說話不超過談話時間的 70%",
        why="認真傾聽，挑選出對自己有利的線索和下面交流的切入點。",
        options=("speech.max_staff_share", "speech.min_talk_for_share_s"),
        check=_on_voice(check_listen_share),
    ),
    Rule(
        id="talk.no-talk-over",
        clause="3(5)",
        title="不搶話",
        sources=("speech",),
        applies="answered calls",
        checks="staff never start speaking more than 1 s before the customer's turn ends "
        "(a sound under 1 s inside the customer's turn, 嗯 or 對, is listening)",
        applies_zh="已接通的通話",
        checks_zh="館員從不在客戶說完前超過 1 秒就開口（客戶說話中不到 1 秒的「嗯」「對」是在聆聽）",
        why="認真傾聽。",
        options=("timing.talk_over_grace_s", "timing.backchannel_max_s"),
        check=_on_voice(check_no_talk_over),
    ),
    Rule(
        id="talk.no-dead-air",
        clause="4(13), 4(6)",
        title="不讓對方空等",
        sources=("speech",),
        applies="answered calls with a recording",
        checks="nobody speaks for 10 s or more outside a hold, between the first and the last turn",
        applies_zh="有錄音的已接通通話",
        checks_zh="第一句到最後一句之間，保留以外沒有雙方都不出聲達 10 秒以上",
        why="不要讓對方拿著話筒長時間等候。電話裏讓人稍等就不能讓人久等。",
        options=("timing.max_dead_air_s",),
        check=_on_voice(check_no_dead_air),
    ),
)
