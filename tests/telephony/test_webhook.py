"""Events pushed over the JSON webhook: signed, fresh, well formed."""

from __future__ import annotations

import json

import pytest

from callsop.telephony import webhook
from callsop.telephony.webhook import WebhookError

SECRET = b"club-xinyi-shared-secret"
NOW = 1_795_000_000.0
EVENT = {
    "call_id": "c1",
    "kind": "answered",
    "at": NOW - 3,
    "caller": "0912345678",
    "callee": "201",
}


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_a_signed_fresh_push_gives_its_events() -> None:
    body = _body({"events": [EVENT, {**EVENT, "kind": "hangup", "by": "caller", "at": NOW}]})
    webhook.verify(body, webhook.sign(body, SECRET, NOW - 10), SECRET, now=NOW)
    events = webhook.events_from(body)
    assert [(e.kind, e.by) for e in events] == [("answered", None), ("hangup", "caller")]
    assert events[0].caller == "0912345678"


def test_a_single_event_body_is_accepted() -> None:
    [event] = webhook.events_from(_body(EVENT))
    assert event.kind == "answered"


@pytest.mark.parametrize(
    ("signature", "says"),
    [
        (None, "no X-Callsop-Signature"),
        ("garbage", "must read"),
        (webhook.sign(_body(EVENT), b"another club's secret", NOW), "does not match"),
        (webhook.sign(_body(EVENT), SECRET, NOW - 301), "outside the 300 s window"),
        (webhook.sign(_body(EVENT), SECRET, NOW + 301), "outside the 300 s window"),
    ],
)
def test_unsigned_forged_and_replayed_pushes_are_refused(signature: str | None, says: str) -> None:
    with pytest.raises(WebhookError, match=says) as refused:
        webhook.verify(_body(EVENT), signature, SECRET, now=NOW)
    assert refused.value.status == 401


def test_a_body_changed_after_signing_is_refused() -> None:
    signature = webhook.sign(_body(EVENT), SECRET, NOW)
    with pytest.raises(WebhookError, match="does not match"):
        webhook.verify(_body({**EVENT, "kind": "hangup"}), signature, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (_body({**EVENT, "kind": "exploded"}), "kind"),
        (_body({"events": [{**EVENT, "at": "soon"}]}), "events[0].at"),
        (_body({"kind": "answered"}), "call_id"),
    ],
)
def test_a_bad_body_is_refused_naming_the_field(body: bytes, says: str) -> None:
    with pytest.raises(WebhookError, match=says.replace("[", r"\[").replace("]", r"\]")) as refused:
        webhook.events_from(body)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "signature",
    [
        "t=²,v1=" + "0" * 64,
        "t=" + "9" * 400 + ",v1=" + "0" * 64,
        "t=1,v1=é",
        "t=1,t=2,v1=" + "0" * 64,
    ],
)
def test_hostile_signature_headers_are_a_clean_401(signature: str) -> None:
    with pytest.raises(WebhookError) as refused:
        webhook.verify(_body(EVENT), signature, SECRET, now=NOW)
    assert refused.value.status == 401


def test_a_push_sent_again_inside_the_window_is_a_replay() -> None:
    body, replays = _body(EVENT), webhook.Replays()
    signature = webhook.sign(body, SECRET, NOW)
    webhook.verify(body, signature, SECRET, now=NOW, replays=replays)
    with pytest.raises(WebhookError, match="replay"):
        webhook.verify(body, signature, SECRET, now=NOW + 60, replays=replays)


def test_a_new_and_an_old_secret_both_sign_while_a_club_changes_it() -> None:
    body = _body(EVENT)
    new = webhook.sign(body, b"new secret", NOW).split(",")[1]
    old = webhook.sign(body, SECRET, NOW)
    webhook.verify(body, f"{old}, {new}", SECRET, now=NOW)  # spaces after commas are fine
    webhook.verify(body, f"{old}, {new}", b"new secret", now=NOW)


def test_a_body_nested_too_deep_is_a_400() -> None:
    with pytest.raises(WebhookError) as refused:
        webhook.events_from(b"[" * 100_000)
    assert refused.value.status == 400
