"""SIP messages as the dialog tracker needs them: start line, the headers
that identify a dialog, and the SDP direction that says hold or resume."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# RFC 3261 compact header forms.
_COMPACT = {
    "i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact",
    "l": "content-length", "c": "content-type", "r": "refer-to", "b": "referred-by",
}  # fmt: skip
_STATUS_LINE = re.compile(r"^SIP/2\.0\s+(\d{3})\s*(.*)$")
_REQUEST_LINE = re.compile(r"^([A-Z]+)\s+(\S+)\s+SIP/2\.0$")
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.IGNORECASE)
# A SIP URI's user is what comes before "@": <sip:127.0.0.1:5160> (as a PBX
# answers) names a host, no one. A tel: URI is all number.
_USER = re.compile(r"sips?:([^@;>\s]{1,128})@|tel:([^;>\s]{1,128})", re.IGNORECASE)
_CSEQ = re.compile(r"(\d{1,10})\s+([A-Za-z]+)")  # RFC 3261: a 32-bit number
# Reason: Q.850;cause=16;text="…", one reason of a comma-separated list.
# Searched in two steps: one lazy pattern tried at every "Q.850;" of a
# long header went over the rest of it each time (quadratic).
_Q850 = re.compile(r"Q\.850\s*;", re.IGNORECASE)
_CAUSE = re.compile(r"cause\s*=\s*(\d{1,3})", re.IGNORECASE)
_DIRECTION = re.compile(rb"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", re.MULTILINE)
_NULL_ADDRESS = re.compile(rb"^c=IN IP(?:4 0\.0\.0\.0|6 ::)\s*$", re.MULTILINE)
_MEDIA = re.compile(rb"^m=", re.MULTILINE)


class SipError(ValueError):
    """A payload that is not a SIP message the tracker can use."""


@dataclass(frozen=True, slots=True)
class SipMessage:
    method: str | None  # a request's method; None for a response
    status: int | None  # a response's status code
    headers: dict[str, str] = field(repr=False)  # lower-case names, first value of each
    body: bytes = field(repr=False, default=b"")

    @property
    def call_id(self) -> str:
        return self.headers["call-id"]

    @property
    def cseq(self) -> tuple[int, str]:
        match = _CSEQ.fullmatch(self.headers["cseq"])
        assert match is not None  # parse() refuses any other
        return int(match.group(1)), match.group(2).upper()

    @property
    def from_tag(self) -> str | None:
        return _tag(self.headers.get("from", ""))

    @property
    def to_tag(self) -> str | None:
        return _tag(self.headers.get("to", ""))

    @property
    def from_user(self) -> str | None:
        return _user(self.headers.get("from", ""))

    @property
    def to_user(self) -> str | None:
        return _user(self.headers.get("to", ""))

    @property
    def contact_user(self) -> str | None:
        """The user of the Contact: on an answer, the phone that picked up."""
        return _user(self.headers.get("contact", ""))

    @property
    def asserted_user(self) -> str | None:
        """Who the sender says the call is from (P-Asserted-Identity, or
        Remote-Party-ID as Asterisk sends it), when it says."""
        for name in ("p-asserted-identity", "remote-party-id"):
            if user := _user(self.headers.get(name, "")):
                return user
        return None

    @property
    def refer_to_user(self) -> str | None:
        return _user(self.headers.get("refer-to", ""))

    @property
    def q850_cause(self) -> int | None:
        for reason in self.headers.get("reason", "").split(","):
            q850 = _Q850.search(reason)
            match = _CAUSE.search(reason, q850.end()) if q850 else None
            if match:
                return int(match.group(1))
        return None

    @property
    def sdp_direction(self) -> str | None:
        """sendrecv, sendonly, recvonly or inactive; an old-style hold
        (c=IN IP4 0.0.0.0) reads as inactive. None without SDP."""
        if not self.body:
            return None
        session, *media = _MEDIA.split(self.body)
        audio = next((m for m in media if m.startswith(b"audio")), b"")
        if _NULL_ADDRESS.search(session + audio):
            return "inactive"
        found = _DIRECTION.findall(audio) or _DIRECTION.findall(session)  # media level wins
        return found[-1].decode() if found else "sendrecv"


def _tag(value: str) -> str | None:
    match = _TAG.search(value)
    return match.group(1) if match else None


def _user(value: str) -> str | None:
    match = _USER.search(value)
    return (match.group(1) or match.group(2)) if match else None


def parse(payload: bytes) -> SipMessage:
    """One SIP message, or SipError saying why it is not one."""
    head, separator, body = payload.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = payload.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")  # an old phone's display name: the call still counts
    lines = text.replace("\r\n", "\n").split("\n")
    method: str | None = None
    status: int | None = None
    if match := _STATUS_LINE.match(lines[0]):
        status = int(match.group(1))
    elif match := _REQUEST_LINE.match(lines[0]):
        method = match.group(1)
    else:
        raise SipError(f"not a SIP start line: {lines[0][:60]!r}")
    # Each header's pieces, joined once at the end: joining a folded line on
    # at a time would copy the header so far for every line.
    pieces: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and current is not None:  # a folded continuation line
            current.append(line.strip())
            continue
        key, colon, value = line.partition(":")
        if not colon:
            continue
        name = key.strip().lower()
        name = _COMPACT.get(name, name)
        if name in pieces:
            current = []  # a later value of a header kept once: its folds go nowhere
        else:
            current = pieces[name] = [value.strip()]
    headers = {name: " ".join(parts) for name, parts in pieces.items()}
    for needed in ("call-id", "cseq"):
        if needed not in headers:
            raise SipError(f"no {needed} header")
    if not _CSEQ.fullmatch(headers["cseq"]):
        raise SipError(f"bad CSeq: {headers['cseq'][:40]!r}")
    return SipMessage(method, status, headers, body if separator else b"")
