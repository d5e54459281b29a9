"""The PBX's call events on the desk: stored raw, then applied to the desk's calls.

Each event is stored first under a key that a repeat shares, so a repeat is
never stored twice. Applying one is idempotent by the call's state (an
answer for a call already talking, a hang-up for one already ended, an event
older than the one applied change nothing), so if the process stops between
acting and marking the event done, applying it again changes nothing either:
every event takes effect exactly once. Events are applied in capture order
per call, whatever order they arrived in.

Applying goes call by call. An applier first claims the calls it takes
(`PbxApplyClaim`), so however many threads and processes apply, one call's
events are applied by one of them at a time, in order. The feed applies the
calls of the events it has just stored at once (`pbx_calls_apply`); what is
left waits for a background round (`pbx_events_apply`), which takes the
calls on the desk first, then the newest offers, then the oldest, so a
backlog of events nobody waits for never holds up a call that is ringing."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import Max
from django.utils import timezone

from callsop.desk.models import Call, CallEvent, ClubLine, PbxEvent, Staff
from callsop.desk.models.telephony import PbxApplyClaim
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound
from callsop.desk.services.errors import ActionError
from callsop.desk.services.jobs import workers_alive
from callsop.desk.services.scoring import (
    call_rescore,
    calls_queue_for_grading,
    scoring_deferred,
)
from callsop.desk.validation import check_event
from callsop.engine.history import normalise_phone
from callsop.telephony.dialogs import CallEvent as PbxCallEvent

logger = logging.getLogger(__name__)

LIVE_STATES = (Call.State.RINGING, Call.State.TALKING, Call.State.HELD)
OFFERS = ("offered", "ringing")
ROUND_CALLS = 200  # calls one round claims: a round is short, so a claim is too
CLAIM_STALE = timedelta(seconds=60)
STORE_CHUNK = 500  # rows one insert takes, so no writer waits long behind it
FAILING_CALLS = 3  # database errors on this many calls in a row end a round
ROUND_BUDGET_S = 10.0  # a round takes no new call after this, far within CLAIM_STALE


def _key(source: str, event: PbxCallEvent) -> str:
    parts = (event.call_id, event.kind, f"{event.at:.3f}", event.by or "", event.target or "")
    return f"{source}:" + "|".join(parts)


def _row(source: str, event: PbxCallEvent, payload: Mapping[str, Any] | None) -> PbxEvent:
    return PbxEvent(
        source=source,
        key=_key(source, event)[:300],
        call_id=event.call_id[:200],
        kind=event.kind,
        at=datetime.fromtimestamp(event.at, UTC),
        caller=(event.caller or "")[:80],
        callee=(event.callee or "")[:80],
        by=event.by or "",
        cause=(event.cause or "")[:40],
        target=(event.target or "")[:80],
        payload=dict(payload) if payload is not None else _as_payload(event),
        received_at=timezone.now(),
    )


def pbx_event_store(
    *, source: str, event: PbxCallEvent, payload: Mapping[str, Any] | None = None
) -> PbxEvent | None:
    """Keeps the event as received; None when it was received before."""
    row = _row(source, event, payload)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    return row


def pbx_events_store(*, source: str, events: Iterable[PbxCallEvent]) -> int:
    """Keeps a burst of events in a few inserts; how many were new (the
    others, repeats of one another or of events stored before, are not kept
    again). Two stores racing on one event keep it once; each may count it.
    An event the desk could not take (validation.check_event: a caller too
    long, a time out of range) is logged and left out, never half-applied."""
    rows: dict[str, PbxEvent] = {}
    for index, event in enumerate(events):
        try:
            check_event(index, dataclasses.asdict(event))
        except ActionError as exc:
            logger.warning("PBX event of %r from %s left out: %s", event.call_id[:80], source, exc)
            continue
        row = _row(source, event, None)
        rows.setdefault(row.key, row)
    keys = list(rows)
    new = 0
    for start in range(0, len(keys), STORE_CHUNK):
        chunk = keys[start : start + STORE_CHUNK]
        seen = set(PbxEvent.objects.filter(key__in=chunk).values_list("key", flat=True))
        fresh = [rows[key] for key in chunk if key not in seen]
        PbxEvent.objects.bulk_create(fresh, ignore_conflicts=True)
        new += len(fresh)
    return new


def pbx_events_pending() -> int:
    return PbxEvent.objects.filter(processed_at__isnull=True).count()


def _as_payload(event: PbxCallEvent) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "kind": event.kind,
        "at": event.at,
        "caller": event.caller,
        "callee": event.callee,
        "by": event.by,
        "cause": event.cause,
        "target": event.target,
    }


Ended = tuple[int, datetime]  # a call ended by an event, and when: to be scored


@dataclass
class ApplyRound:
    """What one round did: events applied, the calls it left because
    another applier holds them (they are that applier's to finish), and the
    calls it ended, still to be scored (`pbx_calls_score`) when it was told
    not to score them itself."""

    applied: int = 0
    busy: list[str] = field(default_factory=list)
    ended: list[Ended] = field(default_factory=list)

    def add(self, other: ApplyRound) -> None:
        self.applied += other.applied
        self.busy += other.busy
        self.ended += other.ended


def pbx_events_apply(*, limit: int = 1000) -> int:
    """One background round: applies up to `limit` pending events, the
    calls on the desk first, then the newest offers, then the oldest
    events, and then scores the calls it ended; how many it applied."""
    done = _apply_round(_calls_due(ROUND_CALLS), limit)
    pbx_calls_score(done.ended)
    return done.applied


def pbx_calls_apply(
    *, call_ids: Sequence[str], limit: int = 1000, score: bool = True
) -> ApplyRound:
    """Applies the pending events of these calls (those just stored), each
    call's in capture order, before any other. The calls it ends are scored
    after every event is applied, none in an event's transaction; with
    `score=False` they are left in `ended`, for the caller to score."""
    due = list(dict.fromkeys(call_ids))
    done = ApplyRound()
    for start in range(0, len(due), ROUND_CALLS):
        done.add(_apply_round(due[start : start + ROUND_CALLS], limit))
    if score:
        pbx_calls_score(done.ended)
        done.ended = []
    return done


def pbx_calls_score(ended: Iterable[Ended]) -> int:
    """Scores calls the PBX ended (outside any write transaction, as an
    amendment's rescoring is); how many it scored. With a worker running
    (`callsop worker`) each becomes a job for it, as a call the desk ended
    does, so the feed's process spends nothing on grading while calls ring.
    A call that cannot be scored is logged and left: it holds up no other."""
    ended = list(ended)
    if ended and workers_alive():
        try:
            return calls_queue_for_grading(ended)
        except OperationalError:
            raise  # the database is gone: the caller keeps the rest for later
        except Exception:
            logger.exception("calls ended by the PBX not queued for grading; graded here")
    scored = 0
    for call_id, at in ended:
        try:
            call_rescore(call_id=call_id, now=at)
        except OperationalError:
            raise  # the database is gone: the caller keeps the rest for later
        except Exception:
            logger.exception("call %s ended by the PBX not scored", call_id)
            continue
        scored += 1
    return scored


UNSCORED_SINCE = timedelta(days=1)


def pbx_calls_unscored() -> list[Ended]:
    """Calls the PBX ended in the last day that have no scorecard (their
    applier stopped between the ending and the scoring): to be scored."""
    since = timezone.now() - UNSCORED_SINCE
    ended = Call.objects.filter(
        source="pbx", state=Call.State.ENDED, ended_at__gte=since, scorecard__isnull=True
    )
    return [(pk, at) for pk, at in ended.values_list("pk", "ended_at") if at is not None]


def _calls_due(most: int) -> list[str]:
    pending = PbxEvent.objects.filter(processed_at__isnull=True)
    on_desk = Call.objects.filter(source="pbx", state__in=LIVE_STATES).values("external_id")
    picks = (
        pending.filter(call_id__in=on_desk),
        pending.filter(kind__in=OFFERS).order_by("-at", "-pk"),
        pending.order_by("at", "pk"),
    )
    due: dict[str, None] = {}
    for pick in picks:
        for call_id in pick.values_list("call_id", flat=True)[: most * 4]:
            due.setdefault(call_id, None)
            if len(due) == most:
                return list(due)
    return list(due)


def _apply_round(call_ids: list[str], limit: int) -> ApplyRound:
    if not call_ids:
        return ApplyRound()
    holder = uuid.uuid4().hex
    mine = _claim(call_ids, holder)
    done = ApplyRound(busy=[c for c in call_ids if c not in mine])
    try:
        with scoring_deferred() as ended:
            applied = _apply_claimed(mine, limit)
        done.applied = len(applied)
        done.ended = ended
    finally:
        _release(holder)
    return done


def _claim(call_ids: list[str], holder: str, *, again: bool = True) -> set[str]:
    now = timezone.now()
    claims = PbxApplyClaim.objects.filter(call_id__in=call_ids)
    PbxApplyClaim.objects.bulk_create(
        [PbxApplyClaim(call_id=c, holder=holder, taken_at=now) for c in call_ids],
        ignore_conflicts=True,
    )
    mine = set(claims.filter(holder=holder).values_list("call_id", flat=True))
    if len(mine) == len(call_ids) or not again:
        return mine
    others = [c for c in call_ids if c not in mine]
    if not claims.filter(call_id__in=others, taken_at__lt=now - CLAIM_STALE).delete()[0]:
        return mine
    return mine | _claim(others, holder, again=False)  # taken over from an applier that stopped


def _release(holder: str) -> None:
    try:
        PbxApplyClaim.objects.filter(holder=holder).delete()
    except DatabaseError:  # the database is gone: the claims go stale and are taken over
        logger.warning("PBX event claims of %s left to go stale", holder)


def _apply_claimed(call_ids: set[str], limit: int) -> list[PbxEvent]:
    rows = PbxEvent.objects.filter(call_id__in=call_ids, processed_at__isnull=True)
    by_call: dict[str, list[PbxEvent]] = {}
    for row in rows.order_by("at", "pk")[:limit]:
        by_call.setdefault(row.call_id, []).append(row)
    on_desk = Call.objects.select_related("club", "clerk").filter(source="pbx")
    calls = {c.external_id: c for c in on_desk.filter(external_id__in=list(by_call))}
    lasts = _lasts_applied(calls.values())
    applied: list[PbxEvent] = []
    failing = 0
    token = _DIRECTORY.set(_Directory())
    ends = time.monotonic() + ROUND_BUDGET_S
    try:
        for call_id, call_rows in by_call.items():
            complete = _apply_call(calls.get(call_id), call_rows, applied, lasts)
            failing = 0 if complete else failing + 1
            if failing == FAILING_CALLS:
                raise OperationalError("the database keeps failing; the events wait")
            if time.monotonic() > ends:
                break  # the rest wait for the next round, claims and all
    finally:
        _DIRECTORY.reset(token)
        PbxEvent.objects.bulk_update(applied, ["processed_at", "outcome"], batch_size=STORE_CHUNK)
    return applied


def _lasts_applied(calls: Iterable[Call]) -> dict[str, datetime | None]:
    """The time of each call's latest event on the desk, in one query for a
    round's calls (by external id; None for a call with no event yet)."""
    by_pk = {call.pk: call.external_id for call in calls}
    if not by_pk:
        return {}
    latest = CallEvent.objects.filter(call_id__in=list(by_pk)).values("call_id")
    lasts: dict[str, datetime | None] = dict.fromkeys(by_pk.values())
    for pk, at in latest.annotate(last=Max("at")).values_list("call_id", "last"):
        lasts[by_pk[pk]] = at
    return lasts


def _apply_call(
    call: Call | None,
    rows: list[PbxEvent],
    applied: list[PbxEvent],
    lasts: dict[str, datetime | None] | None = None,
) -> bool:
    """One call's events in capture order; False when the database failed
    and the rest of them wait for the next round. `lasts` holds the time of
    each call's latest event on the desk where known (from
    `_lasts_applied`), kept up to date as events are applied here: an event
    that changed the call adds its events at its own time."""
    lasts = {} if lasts is None else lasts
    for n, row in enumerate(rows, 1):
        try:
            outcome = _apply(call, row, lasts)
        except OperationalError:
            logger.warning("PBX event %s of %s waits: database busy or gone", row.pk, row.call_id)
            return False
        except Exception as exc:
            # One event the desk cannot take must not hold up every one after it.
            logger.exception("PBX event %s (%s of %s) not applied", row.pk, row.kind, row.call_id)
            outcome = f"error: {exc!r}"
        if outcome.startswith("error"):
            lasts.pop(row.call_id, None)  # unknown now: read again
        elif not outcome.startswith("ignored") and row.call_id in lasts:
            last = lasts[row.call_id]
            lasts[row.call_id] = row.at if last is None else max(last, row.at)
        if n < len(rows) and not outcome.startswith("ignored"):  # it changed, or may have
            call = _call_of(row.call_id)
        row.processed_at = timezone.now()
        row.outcome = outcome[:200]
        applied.append(row)
    return True


def _call_of(call_id: str) -> Call | None:
    on_desk = Call.objects.select_related("club", "clerk").filter(source="pbx")
    return on_desk.filter(external_id=call_id).first()


class _Directory:
    """The clubs' lines and the staff's extensions, read once a round when
    a call new to the desk needs them, so an offer to a number no club has
    costs no query."""

    @cached_property
    def lines(self) -> dict[str, ClubLine]:
        return {line.number: line for line in ClubLine.objects.select_related("club")}

    @cached_property
    def staff(self) -> dict[str, list[Staff]]:
        staff: dict[str, list[Staff]] = {}
        people = Staff.objects.select_related("club").exclude(role=Staff.Role.HQ)
        for person in people.exclude(extension=""):
            staff.setdefault(person.extension, []).append(person)
        return staff


_DIRECTORY: ContextVar[_Directory | None] = ContextVar("pbx_directory", default=None)


def _line_of(number: str) -> ClubLine | None:
    key = normalise_phone(number)
    if not key:
        return None
    directory = _DIRECTORY.get()
    if directory is not None:
        return directory.lines.get(key)
    return ClubLine.objects.select_related("club").filter(number=key).first()


_LEADING_EXTENSION = re.compile(r"(\d+)(?:[-_.;]|$)")


def _staff_at(extension: str, club_id: int | None = None) -> Staff | None:
    """The one member of staff at this extension. A phone's Contact may add
    an instance mark to it (baresip's 101-0x5567…): the leading digits count."""
    if not extension:
        return None
    match = _LEADING_EXTENSION.match(extension)
    if match is not None:
        extension = match.group(1)
    directory = _DIRECTORY.get()
    if directory is not None:
        found = directory.staff.get(extension, [])
        found = [p for p in found if club_id is None or p.club_id == club_id]
    else:
        qs = Staff.objects.filter(extension=extension).exclude(role=Staff.Role.HQ)
        found = list((qs if club_id is None else qs.filter(club_id=club_id))[:2])
    return found[0] if len(found) == 1 else None


def _apply(call: Call | None, row: PbxEvent, lasts: dict[str, datetime | None]) -> str:
    if call is None:
        return _first_event(row)
    try:
        return _next_event(call, row, lasts)
    except ActionError as exc:
        return f"ignored: {exc.message}"


def _first_event(row: PbxEvent) -> str:
    if row.kind not in ("offered", "ringing", "answered"):
        return f"ignored: {row.kind} of a call the desk never saw ring"
    line = _line_of(row.callee)
    agent = _staff_at(row.callee)
    dialler = _staff_at(row.caller) if line is None and agent is None else None
    if dialler is not None and dialler.club is not None:
        placed = outbound.outbound_placed_by_dialer(
            clerk=dialler, phone=row.callee, external_id=row.call_id, now=row.at
        )
        if placed is not None:
            return f"outgoing call {placed.pk}, placed by the desk's dialer"
        call = outbound.outbound_dialled_on_phone(
            club=dialler.club,
            clerk=dialler,
            phone=row.callee,
            external_id=row.call_id,
            now=row.at,
        )
        return f"outgoing call {call.pk} dialled at extension {row.caller}"
    club = line.club if line else (agent.club if agent else None)
    if club is None:
        return f"ignored: {row.callee or 'no number'} is no club's line or extension"
    call = svc.call_ring(
        club=club,
        phone=row.caller,
        line=line.kind if line else "main",
        source="pbx",
        external_id=row.call_id,
        now=row.at,
    )
    if row.kind == "answered":
        svc.call_answer(call=call, clerk=_staff_at(row.target, club.pk) or agent, now=row.at)
        return f"call {call.pk} rang and was answered"
    return f"call {call.pk} ringing"


def _last_applied(call: Call) -> datetime | None:
    return call.events.order_by("-at").values_list("at", flat=True).first()


def _next_event(call: Call, row: PbxEvent, lasts: dict[str, datetime | None]) -> str:
    if call.state == Call.State.ENDED:
        return "ignored: the call has ended"
    last = lasts[row.call_id] if row.call_id in lasts else _last_applied(call)
    if last is not None and row.at < last:
        return "ignored: older than what the call already shows"
    kind = row.kind
    if kind in ("offered", "ringing"):
        return "ignored: already ringing"
    if kind == "answered":
        if call.state != Call.State.RINGING:
            return "ignored: already answered"
        if call.direction == "outbound":
            outbound.outbound_answered(call=call, now=row.at)
        else:
            at_phone = _staff_at(row.target, call.club_id) or _staff_at(row.callee, call.club_id)
            svc.call_answer(call=call, clerk=at_phone, now=row.at)
        return "answered"
    if kind == "hold":
        if call.state != Call.State.TALKING:
            return "ignored: not talking"
        svc.call_hold(call=call, now=row.at)
        return "held"
    if kind == "resume":
        if call.state != Call.State.HELD:
            return "ignored: not held"
        svc.call_resume(call=call, now=row.at)
        return "resumed"
    if kind == "transfer":
        if call.events.filter(type="transfer", at=row.at).exists():
            return "ignored: already transferred"
        if call.state == Call.State.HELD:
            svc.call_resume(call=call, now=row.at)  # the transfer takes the customer off hold
        _transfer(call, row)
        return "transferred"
    outbound_unanswered = call.direction == "outbound" and call.state == Call.State.RINGING
    if kind in ("cancelled", "failed") and outbound_unanswered:
        outbound.outbound_no_answer(call=call, now=row.at)  # with its retry task
        return "no answer; retry due"
    if kind in ("hangup", "cancelled", "failed"):
        svc.call_end(call=call, by=_side(call, row), now=row.at)
        return f"ended ({kind})"
    return f"ignored: unknown kind {kind}"


@transaction.atomic(durable=True)
def _transfer(call: Call, row: PbxEvent) -> None:
    """A transfer made on the phone, not through the desk, so with no briefing
    on record; the call goes on until its hang-up. (A transfer made through
    the desk ends the call there, briefing and all, so the PBX's report of it
    finds the call ended.)"""
    to = _staff_at(row.target, call.club_id)
    CallEvent.objects.create(call=call, at=row.at, type="transfer", to=to)
    call.outcome = Call.Outcome.TRANSFERRED
    call.save(update_fields=["outcome", "updated_at"])


def _side(call: Call, row: PbxEvent) -> str:
    if row.kind in ("cancelled", "failed"):
        return "customer" if call.direction == "inbound" else "staff"
    if row.cause == "network":
        return "network"
    caller_side = row.by == "caller"
    customer_called = call.direction == "inbound"
    return "customer" if caller_side == customer_called else "staff"


def pbx_live_histories(*, source: str = "hep") -> list[list[PbxCallEvent]]:
    """The stored events of each call still live on the desk, in capture
    order: what a restarted collector takes up its dialogs from."""
    live = Call.objects.filter(
        source="pbx", state__in=[Call.State.RINGING, Call.State.TALKING, Call.State.HELD]
    ).values_list("external_id", flat=True)
    rows = PbxEvent.objects.filter(source=source, call_id__in=list(live)).order_by("at", "pk")
    histories: dict[str, list[PbxCallEvent]] = {}
    for row in rows:
        histories.setdefault(row.call_id, []).append(pbx_event_from_mapping(row.payload))
    return list(histories.values())


def pbx_event_from_mapping(data: Mapping[str, Any]) -> PbxCallEvent:
    """An event from its stored payload (for re-applying, and tests)."""
    return PbxCallEvent(
        call_id=str(data["call_id"]),
        kind=data["kind"],
        at=float(data["at"]),
        caller=data.get("caller"),
        callee=data.get("callee"),
        by=data.get("by"),
        cause=data.get("cause"),
        target=data.get("target"),
    )
