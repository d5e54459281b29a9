"""One key per number, however it is written: national, international
(+886, +86, +852, or 00 in place of +), spaced, dashed or full-width."""

from __future__ import annotations

import pytest

from callsop.engine.history import normalise_phone


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("0912-345-678", "912345678"),
        ("+886 912 345 678", "912345678"),
        ("886912345678", "912345678"),
        ("０９１２３４５６７８", "912345678"),
        ("＋８８６ ９１２ ３４５ ６７８", "912345678"),
        ("02-2700-1234", "227001234"),
        ("+886 2 2700 1234", "227001234"),
        ("13577024418", "13577024418"),
        ("+86 135 7702 4418", "13577024418"),
        ("+8613577024418", "13577024418"),
        ("0086 135 7702 4418", "13577024418"),
        ("+852 9123 4567", "91234567"),
        ("+1 415 555 0100", "14155550100"),  # outside the region: kept whole
        ("", None),
        ("無", None),
    ],
)
def test_a_number_has_one_key_however_it_is_written(written: str, key: str | None) -> None:
    assert normalise_phone(written) == key


def test_a_pingtung_number_is_not_taken_for_a_mainland_one() -> None:
    # 08-86x-xxxx keys as 86…: only a + or 00 says a calling code follows.
    assert normalise_phone("08-8612345") == "88612345"
    assert normalise_phone("08-861-2345") == "88612345"
