"""A real call recorded at the desk phone and scored from its audio.

The caller's baresip phone rings the club's line through Kamailio and the
desk phone (extension 101) answers. Each plays its track of the scripted
conversation (lab_conversation.py) over G.711 µ-law: the clerk greets, cuts
in on the caller's question, asks her to hold and plays 8 s of music, comes
back and says goodbye; the caller hangs up. The desk phone records both legs
(baresip's sndfile filter), the PBX's events come through the HEP feed, and
`callsop.audio.hear` hears the legs: talk-over, listening, speech rate and
the hold are then decided from the recorded audio alone. One call, about
40 s of real time, serves every test here.

No re-INVITE hold: with Debian's baresip 1.0 the call's audio stops both
ways at the hold and does not come back after the resume (neither phone
records anything of the other from the hold on), so a held call's
recording would be silent. The hold is the clerk's music, as a desk phone
that plays its own music on hold sends it."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callsop.audio import Heard, hear
from callsop.audio.whisper import WhisperBase
from callsop.desk import worker
from callsop.desk.feed import DeskFeed
from callsop.desk.models import Call as DeskCall
from callsop.desk.models import Chain, Club, ClubLine, Recording, Staff
from callsop.desk.services.recording_files import store_copy
from callsop.desk.services.recordings import recording_queue
from callsop.engine import score
from callsop.engine.findings import Finding
from callsop.engine.history import normalise_phone
from callsop.policy import Policy, default_policy, load_policy
from callsop.telephony.bridge import record_of
from tests.telephony import lab_conversation, sip_lab
from tests.telephony.lab_conversation import CLUB_LINE, HOLD, SIDES, RecordedCall, Said
from tests.telephony.sip_lab import Lab


# The call is played once a session: pytest-django runs the desk's test
# apart from the others, so a module's fixture would play it twice.
@pytest.fixture(scope="session")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Kamailio routing the club's line to extension 101, and the collector."""
    running = sip_lab.start(tmp_path_factory.mktemp("club-lab"), pbx="club.cfg.in")
    try:
        yield running
    finally:
        sip_lab.stop(running)


@pytest.fixture(scope="session")
def recorded(club: Lab, tmp_path_factory: pytest.TempPathFactory) -> RecordedCall:
    return lab_conversation.play(club, tmp_path_factory.mktemp("recorded-call"))


@pytest.fixture(scope="session")
def heard(recorded: RecordedCall) -> Heard:
    """The desk phone's recording heard: the clerk's leg, then the caller's."""
    return hear([recorded.desk.sent, recorded.desk.received], name="lab-call.wav")


@pytest.fixture(scope="module")
def short_call_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """The SOP's limits scaled to a 40 s call: 6 s holds; shares and rates over 15–20 s."""
    path = tmp_path_factory.mktemp("policy") / "short.toml"
    path.write_text(
        "[timing]\nmax_hold_s = 6\n\n[speech]\nmin_talk_for_share_s = 20\nmin_staff_speech_s = 15\n",
        "utf-8",
    )
    return load_policy(path)


def _starts(heard: Heard, speaker: str) -> list[float]:
    return [u["start"] for u in heard.utterances if u["speaker"] == speaker]


def _start_errors(heard: Heard, lines: list[Said]) -> list[float]:
    """For each scripted line, how far from it the nearest heard utterance starts."""
    starts = _starts(heard, lines[0].speaker)
    assert starts, f"nothing heard from the {lines[0].speaker}"
    return [min(abs(s - line.start) for s in starts) for line in lines]


def test_each_phone_hears_the_other_over_the_line(recorded: RecordedCall, heard: Heard) -> None:
    # What a phone received came through G.711 and the network: had no audio
    # flowed, that leg would be silent and nothing heard in it.
    assert "aufile ---> sndfile ---> PCMU" in recorded.desk_log
    assert "(play) <--- sndfile <--- PCMU" in recorded.desk_log
    at_customer = hear([recorded.customer.received, recorded.customer.sent])
    assert max(_start_errors(at_customer, recorded.lines("staff"))) < 0.5
    assert max(_start_errors(heard, recorded.lines("customer"))) < 0.5


def test_the_recorded_utterances_follow_the_script(recorded: RecordedCall, heard: Heard) -> None:
    # The tracks as played: a line with a pause in it (林小姐，…) is heard as
    # more than one utterance there too, so the counts must agree.
    played = hear([recorded.folder / "staff.wav", recorded.folder / "customer.wav"])
    for speaker in SIDES:
        starts, truth = _starts(heard, speaker), _starts(played, speaker)
        assert len(starts) == len(truth), (speaker, starts, truth)
        assert max(abs(a - b) for a, b in zip(starts, truth, strict=True)) < 0.15
        errors = _start_errors(heard, recorded.lines(speaker))
        assert statistics.median(errors) < 0.3 and max(errors) < 0.5, (speaker, errors)
    question, cut_in = recorded.said[1], recorded.said[2]
    [talk_over] = heard.talk_overs
    assert talk_over == pytest.approx((cut_in.start, question.end), abs=0.3)
    syllables = sum(u["syllables"] for u in heard.utterances if u["speaker"] == "staff")
    said = sum(lab_conversation.characters(s.text) for s in recorded.lines("staff"))
    assert syllables == pytest.approx(said, rel=0.15)


def test_the_hold_is_heard_in_the_clerks_music(heard: Heard) -> None:
    assert [e["type"] for e in heard.events] == ["hold", "resume"]
    held, resumed = (e["t"] for e in heard.events)
    assert (held, resumed) == pytest.approx(HOLD, abs=1.5)
    assert heard.dead_air == []


def _findings(recorded: RecordedCall, heard: Heard, policy: Policy) -> dict[str, Finding]:
    pbx = record_of(recorded.events, direction="inbound", record_id="lab-call", club="xinyi")
    record = lab_conversation.with_speech(pbx, heard, recorded.answered_at)
    return {f.rule: f for f in score([record], policy)[0].findings}


def test_the_call_is_scored_on_its_recorded_voice(
    recorded: RecordedCall, heard: Heard, short_call_policy: Policy
) -> None:
    assert [e.kind for e in recorded.events] == ["offered", "ringing", "answered", "hangup"]
    findings = _findings(recorded, heard, short_call_policy)
    question, cut_in = recorded.said[1], recorded.said[2]

    over = findings["talk.no-talk-over"]
    assert (over.verdict, over.basis) == ("fail", "voice"), over.message
    early = float(over.message.split(" s before")[0].rsplit(" ", 1)[1])
    assert early == pytest.approx(question.end - cut_in.start, abs=0.3)
    assert over.evidence[-1]["t"] == pytest.approx(recorded.answered_at + cut_in.start, abs=0.3)

    share = findings["talk.listen-share"]
    assert (share.verdict, share.basis) == ("fail", "voice"), share.message
    rate = findings["talk.speech-rate"]
    assert (rate.verdict, rate.basis) == ("pass", "voice"), rate.message

    hold = findings["hold.max-duration"]
    assert hold.verdict == "fail" and "heard in the recording" in hold.message, hold.message
    held = [e["t"] - recorded.answered_at for e in hold.evidence]
    assert held == pytest.approx(list(HOLD), abs=1.5)

    assert findings["talk.no-dead-air"].verdict == "pass"
    assert findings["close.customer-hangs-up-first"].verdict == "pass"


def test_the_machine_transcript_of_the_recording_decides_the_phrases(
    recorded: RecordedCall, tmp_path: Path
) -> None:
    words = hear([recorded.desk.sent, recorded.desk.received], recogniser=WhisperBase())
    assert words.speech["source"] == "machine"
    findings = _findings(recorded, words, default_policy())
    farewell = findings["close.farewell"]
    assert (farewell.verdict, farewell.basis) == ("pass", "machine"), farewell.message
    # Rules the default policy holds too weak to fail on a machine transcript
    # keep the passes heard (only a fail there would be na)...
    for rule in ("inbound.greeting-with-club-name", "hold.ask-before-hold"):
        assert (findings[rule].verdict, findings[rule].basis) == ("pass", "machine"), findings[
            rule
        ].message
    # ...and a club that trusts its recogniser gets them judged from the words heard.
    trusting = tmp_path / "club.toml"
    trusting.write_text("[matching]\nmachine_weak_rules = []\n", "utf-8")
    findings = _findings(recorded, words, load_policy(trusting))
    for rule in ("inbound.greeting-with-club-name", "hold.ask-before-hold", "close.farewell"):
        assert (findings[rule].verdict, findings[rule].basis) == ("pass", "machine"), (
            rule,
            findings[rule].message,
        )
    # 請稍候 was asked in the line just before the music began.
    [asked] = findings["hold.ask-before-hold"].evidence
    assert asked["t"] - recorded.answered_at == pytest.approx(recorded.said[4].start, abs=0.3)


@pytest.fixture
def clerk(django_user_model: Any, settings: Any, tmp_path: Path) -> Staff:
    """怡君 at extension 101 of 信義會館, whose line is the number the caller dials."""
    settings.DATA_DIR = tmp_path / "data"  # where the desk keeps recordings
    chain = Chain.objects.create(name="康活健身會館")
    club = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    ClubLine.objects.create(club=club, number=normalise_phone(CLUB_LINE))
    user = django_user_model.objects.create_user(username="yijun", password="x")
    return Staff.objects.create(user=user, chain=chain, club=club, name="陳怡君", extension="101")


def _onto_the_desk(recorded: RecordedCall) -> DeskCall:
    feed = DeskFeed()
    for event in recorded.events:
        feed(event)
    feed.close()
    return DeskCall.objects.get(source="pbx")


@pytest.mark.django_db(transaction=True)
def test_the_desk_rescores_the_call_from_its_recording(
    recorded: RecordedCall, clerk: Staff
) -> None:
    call = _onto_the_desk(recorded)
    assert (call.clerk, call.state, call.hold_count) == (clerk, DeskCall.State.ENDED, 0)
    before = {f["rule"]: f for f in call.scorecard.findings}
    assert before["talk.no-talk-over"]["verdict"] == "na"

    legs = [store_copy(recorded.desk.sent), store_copy(recorded.desk.received)]
    recording = recording_queue(call=call, files=legs, staff=clerk)
    assert recording.offset_s == pytest.approx(recorded.answered_at, abs=0.01)
    worker.drain()

    recording.refresh_from_db()
    assert (recording.state, recording.speech_source) == (Recording.State.HEARD, "voice-only")
    call.refresh_from_db()
    first = recorded.lines("staff")[0]
    assert call.utterances[0]["start"] == pytest.approx(recording.offset_s + first.start, abs=0.3)
    assert call.hold_count == 1
    assert call.hold_total_s == pytest.approx(HOLD[1] - HOLD[0], abs=1.5)
    findings = {f["rule"]: f for f in call.scorecard.findings}
    over = findings["talk.no-talk-over"]
    assert (over["verdict"], over.get("basis")) == ("fail", "voice"), over
    hold = findings["hold.max-duration"]
    assert hold["verdict"] == "pass", hold
    assert hold["evidence"][0]["t"] == pytest.approx(recording.offset_s + HOLD[0], abs=1.5)
    assert findings["close.customer-hangs-up-first"]["verdict"] == "pass"
    assert findings["inbound.answer-promptly"]["verdict"] == "pass"
