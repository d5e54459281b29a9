"""The call screen: one page per call, its actions answered with the panel."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from callsop.desk import selectors, validation
from callsop.desk.models import Call, Staff
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound as out
from callsop.desk.services.access import call_for, colleague_for, require_club_staff
from callsop.desk.services.amendments import call_amend_details
from callsop.desk.services.dialing import dial_queue
from callsop.desk.services.errors import ActionError
from callsop.desk.services.policy import policy_of
from callsop.desk.services.scoring import calls_score_after, scoring_deferred
from callsop.desk.views.common import hx_redirect, staff_view, tz_of
from callsop.desk.views.scorecards import scorecard_page

NOTE_LABELS = [
    ("note_when", "何時"),
    ("note_who", "何人"),
    ("note_where", "何地"),
    ("note_what", "何事"),
    ("note_why", "為什麼"),
    ("note_how", "如何進行"),
]


def _local(value: str, staff: Staff, *, label: str = "時間", field: str | None = None) -> datetime:
    return validation.clean_datetime(label, value, tz_of(staff), field=field)


def _flag(post: Any, name: str) -> bool:
    return post.get(name) in ("on", "true", "1")


def _hung_up_by(post: Any) -> str:
    """Who hung up, as the clerk chose it: an end is never recorded with a guess."""
    by = post.get("by", "")
    if not by:
        raise ActionError("請選擇由哪一方掛斷：對方先掛、我方先掛或斷線。", field="by")
    return str(by)


# Each action: (the function, whether it ends the call on this screen).
Action = Callable[[Staff, Call, Any], object]
ACTIONS: dict[str, Action] = {
    "answer": lambda s, c, p: svc.call_answer(call=c, clerk=s),
    "claim": lambda s, c, p: svc.call_claim(call=c, clerk=s),
    "hold": lambda s, c, p: svc.call_hold(call=c),
    "resume": lambda s, c, p: svc.call_resume(call=c),
    "end": lambda s, c, p: svc.call_end(call=c, by=_hung_up_by(p)),
    "wrong-number": lambda s, c, p: svc.call_wrong_number(call=c),
    "visitor": lambda s, c, p: svc.call_visitor_arrived(call=c, clerk=s),
    "memo": lambda s, c, p: svc.memo_take(
        call=c,
        taken_by=s,
        for_staff=colleague_for(s, p.get("for_staff")),
        from_name=p.get("from_name", ""),
        from_org=p.get("from_org", ""),
        phone=p.get("phone", ""),
        message=p.get("message", ""),
        urgent=_flag(p, "urgent"),
    ),
    "transfer": lambda s, c, p: svc.call_transfer(
        call=c, to=colleague_for(s, p.get("to")), summary=p.get("summary", "")
    ),
    "escalate": lambda s, c, p: svc.call_escalate(call=c, reason=p.get("reason", "")),
    "complaint": lambda s, c, p: svc.complaint_log(call=c, clerk=s, summary=p.get("summary", "")),
    "dial": lambda s, c, p: _dial(c, p),
    "connected": lambda s, c, p: out.outbound_answered(call=c),
    "no-answer": lambda s, c, p: out.outbound_no_answer(call=c),
    "dropped": lambda s, c, p: out.outbound_dropped(call=c),
    "absent": lambda s, c, p: out.outbound_absent(
        call=c,
        message=p.get("message", ""),
        callback_at=_local(p.get("callback_at", ""), s, label="回電時間", field="callback_at"),
    ),
    "finish": lambda s, c, p: out.outbound_finish(
        call=c,
        next_contact_at=_local(
            p.get("next_contact_at", ""), s, label="下次聯絡時間", field="next_contact_at"
        ),
        by=_hung_up_by(p),
    ),
}


def details_data(post: Any) -> dict[str, str]:
    """The caller form, note and plan as posted; an unticked box is sent as
    absent, so each box carries a `<name>__present` marker to say it was there."""
    data = {key: post.get(key, "") for key in post}
    for flag in ("note_urgent", "plan_name_verified", "plan_number_verified", "prearranged"):
        if f"{flag}__present" in post:
            data.setdefault(flag, "")
    return data


def _dial(call: Call, post: Any) -> Call:
    # The plan as on the screen, even if its last keystrokes' save is still on its way.
    svc.call_details_save(call=call, data=details_data(post))
    call = out.outbound_dial(call=call)
    if settings.CALLSOP_DIALER:
        dial_queue(call=call)  # the club's own SIP user agent places it
    return call


DONE_MESSAGES = {
    "memo": "留言已送出。",
    "escalate": "已通知館長。",
    "complaint": "已記入今日投訴紀錄。",
}


@require_POST
@staff_view
def call_new_incoming(request: HttpRequest, staff: Staff) -> HttpResponse:
    club = require_club_staff(staff)
    longest = validation.field_limit(Call, "caller_phone")[1]
    phone = validation.clean_text(
        "電話", request.POST.get("phone", ""), longest, field="phone", multiline=False
    )
    call = svc.call_ring(club=club, phone=phone)
    return hx_redirect(request, reverse("call", args=[call.pk]))


@staff_view
def call_page(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    call = call_for(staff, pk)
    if call.state == Call.State.ENDED or staff.club_id != call.club_id:
        return scorecard_page(request, staff, call)  # with the wrap-up form while it lasts
    return render(request, "desk/call.html", _context(staff, call))


@staff_view
def call_panel(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    call = call_for(staff, pk, write=False)
    # Ended by the PBX during the clerk's typing: the panel says so, the note stays open.
    if call.state == Call.State.ENDED and not svc.in_wrap_up(call, staff):
        return hx_redirect(request, reverse("call", args=[call.pk]))
    return render(request, "desk/_call_panel.html", _context(staff, call))


def _context(staff: Staff, call: Call, **extra: Any) -> dict[str, Any]:
    policy = policy_of(call.club)
    events = list(call.events.all())
    held_since = next((e.at for e in reversed(events) if e.type == "hold"), None)
    last = events[-1] if events else None
    return {
        "call": call,
        "events": events,
        "policy": policy,
        "held_since": held_since if call.state == Call.State.HELD else None,
        "just_resumed": last is not None and last.type == "resume",
        "colleagues": selectors.colleagues(staff) if staff.club_id else [],
        "past_calls": selectors.past_calls(staff, call.phone_key, exclude=call.pk)
        if call.phone_key
        else [],
        "note_fields": [(name, label, getattr(call, name)) for name, label in NOTE_LABELS],
        "note_filled": sum(1 for name, _ in NOTE_LABELS if getattr(call, name)),
        "plan_gaps": out.plan_gaps(call) if call.direction == "outbound" else [],
        "greeting": f"您好，{call.club.name}，我是{(call.clerk or staff).spoken_name}。",
        "can_act": staff.club_id == call.club_id,
        "wrap_up_left": math.ceil(svc.wrap_up_left(call)),  # 0 unless ended moments ago
        **extra,
    }


@require_POST
@staff_view
def call_action(request: HttpRequest, staff: Staff, pk: int, action: str) -> HttpResponse:
    act = ACTIONS.get(action)
    if act is None:
        raise Http404("no such action")
    require_club_staff(staff)
    call = call_for(staff, pk)
    try:
        validation.check_form(action, request.POST)
        # A call this ends is graded after the action's transaction, by a
        # worker if one runs: the clerk's next screen never waits on it.
        with scoring_deferred() as ended:
            result = act(staff, call, request.POST)
    except ActionError as exc:
        return _panel(request, staff, call_for(staff, pk), error=exc, open_form=action)
    calls_score_after(ended)
    if isinstance(result, Call) and result.pk != call.pk:  # a redial after a dropped line
        return hx_redirect(request, reverse("call", args=[result.pk]))
    # The call as the action left it: the one it returned, or read again.
    call = result if isinstance(result, Call) else call_for(staff, pk)
    if call.state == Call.State.ENDED or action == "dial" or request.POST.get("from") == "desk":
        response = hx_redirect(request, reverse("call", args=[call.pk]))
        if call.state == Call.State.ENDED:
            response["X-Callsop-Ended"] = "1"  # the page drops what it kept for this call
        return response
    return _panel(request, staff, call, done=DONE_MESSAGES.get(action))


def _panel(
    request: HttpRequest,
    staff: Staff,
    call: Call,
    *,
    error: ActionError | None = None,
    open_form: str | None = None,
    done: str | None = None,
) -> HttpResponse:
    if not getattr(request, "htmx", False) and error is None:
        return hx_redirect(request, reverse("call", args=[call.pk]))
    context = _context(
        staff,
        call,
        error=error,
        open_form=open_form if error else None,
        posted=request.POST if error else {},
        done=done,
    )
    template = "desk/_call_panel.html" if getattr(request, "htmx", False) else "desk/call.html"
    response = render(request, template, context, status=200 if request.htmx else 400)  # type: ignore[attr-defined]
    if error is not None:
        # The page tells the refusal apart from a done action by this header,
        # so it keeps what was typed and shows the message by the button.
        response["X-Callsop-Refused"] = quote(error.message)
    return response


@require_POST
@staff_view
def call_details(request: HttpRequest, staff: Staff, pk: int) -> HttpResponse:
    """The as-you-type save of the caller form, the 5W1H note and the plan;
    on an ended call, its own clerk's during the wrap-up (the seconds left in
    X-Callsop-Wrap-Up), else only an amendment (`amend`, with a `reason`)."""
    require_club_staff(staff)
    call = call_for(staff, pk)
    if "amend" in request.POST:
        return _amend(request, staff, call)
    try:
        validation.check_details(request.POST)
    except ActionError as exc:
        return validation.refused(request, exc)
    try:
        call = svc.call_details_save(call=call, data=details_data(request.POST), staff=staff)
    except ActionError as exc:  # ended: its details are locked
        return validation.refused(request, exc, status=409)
    saved_at = timezone.localtime(timezone.now(), tz_of(staff))
    response = HttpResponse(f"已儲存 {saved_at:%H:%M:%S}")
    if call.state == Call.State.ENDED:
        response["X-Callsop-Wrap-Up"] = str(math.ceil(svc.wrap_up_left(call)))
    return response


def _amend(request: HttpRequest, staff: Staff, call: Call) -> HttpResponse:
    """New details or note for an ended call, kept as an amendment beside the original."""
    try:
        call_amend_details(
            call=call,
            staff=staff,
            data=details_data(request.POST),
            reason=request.POST.get("reason", ""),
        )
    except ActionError as exc:
        return scorecard_page(request, staff, call_for(staff, call.pk), error=exc)
    return hx_redirect(request, reverse("call", args=[call.pk]) + "#amendments")


@require_POST
@staff_view
def call_new_outgoing(request: HttpRequest, staff: Staff) -> HttpResponse:
    club = require_club_staff(staff)
    call = out.outbound_plan(club=club, clerk=staff)
    return hx_redirect(request, reverse("call", args=[call.pk]))
