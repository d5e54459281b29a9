"""SIP messages of a call between a customer (0912345678) and the desk
(extension 201), as a phone and a proxy write them."""

from __future__ import annotations

CALL_ID = "a84b4c76e66710@192.0.2.4"
CUSTOMER = '"王大明" <sip:0912345678@club.example>'
DESK = "<sip:201@club.example>"
SDP = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.4\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na={direction}\r\n"
)


def request(
    method: str,
    cseq: int,
    *,
    from_: str = f"{CUSTOMER};tag=cust1",
    to: str = DESK,
    sdp: str | None = None,
    extra: str = "",
    call_id: str = CALL_ID,
) -> bytes:
    body = SDP.format(direction=sdp) if sdp else ""
    return (
        f"{method} sip:201@club.example SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776\r\n"
        f"From: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def response(
    status: int,
    reason: str,
    cseq: int,
    method: str = "INVITE",
    *,
    from_: str = f"{CUSTOMER};tag=cust1",
    to: str = f"{DESK};tag=desk9",
    call_id: str = CALL_ID,
) -> bytes:
    """A response copies its request's From and To (and so its sender's tag)."""
    return (
        f"SIP/2.0 {status} {reason}\r\n"
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776\r\n"
        f"From: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


IN_DIALOG_FROM_CUSTOMER = {"from_": f"{CUSTOMER};tag=cust1", "to": f"{DESK};tag=desk9"}
IN_DIALOG_FROM_DESK = {"from_": f"{DESK};tag=desk9", "to": f"{CUSTOMER};tag=cust1"}


# The events answered_call() gives, in order.
ANSWERED_CALL_EVENTS = ["offered", "ringing", "answered", "hold", "resume", "hangup"]


def answered_call() -> list[tuple[float, bytes]]:
    """Ring at 0.1 s, answer at 7.5 s, the desk holds at 20 s and resumes at
    54 s, the customer hangs up at 80 s."""
    return [
        (0.0, request("INVITE", 1, sdp="sendrecv")),
        (0.05, response(100, "Trying", 1, to=DESK)),
        (0.1, response(180, "Ringing", 1)),
        (7.5, response(200, "OK", 1)),
        (7.6, request("ACK", 1, **IN_DIALOG_FROM_CUSTOMER)),
        (20.0, request("INVITE", 1, sdp="sendonly", **IN_DIALOG_FROM_DESK)),
        (20.1, response(200, "OK", 1, **IN_DIALOG_FROM_DESK)),
        (54.0, request("INVITE", 2, sdp="sendrecv", **IN_DIALOG_FROM_DESK)),
        (54.1, response(200, "OK", 2, **IN_DIALOG_FROM_DESK)),
        (80.0, request("BYE", 2, **IN_DIALOG_FROM_CUSTOMER)),
        (80.1, response(200, "OK", 2, "BYE")),
    ]
