"""Other calls of the batch: who was dialled again, and when."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence

import msgspec

from callsop.record.model import CallRecord

_NOT_DIGIT = re.compile(r"[^0-9]")


# The calling codes of the clubs' region, longest first: an international
# number of one of them is keyed as its national number.
_REGION_CODES = ("886", "852", "853", "86")


def normalise_phone(phone: str | None) -> str | None:
    """One key per number: +886 912 345 678, 0912-345-678 and 0912345678 agree,
    and so do full-width ０９１２３４５６７８ and ＋８８６ (NFKC), and a mainland
    +86 135 7702 4418 (or 0086…) and its 13577024418."""
    if not phone:
        return None
    phone = unicodedata.normalize("NFKC", phone)
    digits = _NOT_DIGIT.sub("", phone)
    international = phone.strip().startswith("+")
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True
    if international:
        digits = next((digits[len(c) :] for c in _REGION_CODES if digits.startswith(c)), digits)
    elif digits.startswith("886") and len(digits) >= 11:
        digits = digits[3:]
    digits = digits.lstrip("0")
    return digits or None


class Contact(msgspec.Struct, frozen=True):
    """What history needs of one call of the batch."""

    index: int  # the call's place in the batch
    id: str
    direction: str | None
    phone: str  # normalised
    at: float  # epoch seconds the call began (dialling, or the first event)


def contact_of(index: int, record: CallRecord) -> Contact | None:
    phone = normalise_phone(record.customer.phone if record.customer else None)
    if phone is None:
        return None
    # Holds heard in a recording say nothing of when the call began.
    first = min((e.t for e in record.events if e.source is None), default=0.0)
    at = record.started_at.timestamp() + first
    return Contact(index, record.id, record.direction, phone, at)


class History:
    """The batch's calls by normalised customer number, in time order."""

    def __init__(self, contacts: Iterable[Contact]) -> None:
        by_phone: dict[str, list[Contact]] = {}
        for contact in contacts:
            by_phone.setdefault(contact.phone, []).append(contact)
        for listed in by_phone.values():
            listed.sort(key=lambda c: (c.at, c.index))
        self._by_phone = by_phone
        self._times = {k: [c.at for c in v] for k, v in by_phone.items()}

    @classmethod
    def of(cls, records: Sequence[CallRecord], first_index: int = 0) -> History:
        contacts = (contact_of(first_index + i, r) for i, r in enumerate(records))
        return cls(c for c in contacts if c is not None)

    def next_call(
        self, phone: str | None, after: float, *, exclude: int, direction: str | None = None
    ) -> Contact | None:
        """The first call to or from `phone` that began after `after`."""
        key = normalise_phone(phone)
        if key is None or key not in self._by_phone:
            return None
        contacts = self._by_phone[key]
        for contact in contacts[bisect.bisect_right(self._times[key], after) :]:
            if contact.index == exclude:
                continue
            if direction is None or contact.direction == direction:
                return contact
        return None
