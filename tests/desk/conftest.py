"""Named personas, as the desk's tests use them:

- alice, a front-desk clerk of 信義會館 (xinyi)
- bob, the manager (館長) of 信義會館
- dora, another clerk of 信義會館, out of the office
- charlie, a clerk of 板橋會館 (banqiao), who must see nothing of xinyi
- hq, of the chain's head office
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from callsop.desk.models import Chain, Club, Staff

PASSWORD = "pw-for-tests"


@dataclass
class World:
    chain: Chain
    xinyi: Club
    banqiao: Club
    alice: Staff
    bob: Staff
    dora: Staff
    charlie: Staff
    hq: Staff

    def client(self, staff: Staff) -> Client:
        client = Client()
        client.force_login(staff.user)
        return client


def _staff(
    chain: Chain, club: Club | None, username: str, role: str, name: str, **extra: str
) -> Staff:
    user = User.objects.create_user(username=username, password=PASSWORD)
    return Staff.objects.create(
        user=user, chain=chain, club=club, role=role, name=name, short_name=name[-2:], **extra
    )


@pytest.fixture
def world(db: None) -> World:
    chain = Chain.objects.create(name="康活健身會館")
    xinyi = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    banqiao = Club.objects.create(chain=chain, code="banqiao", name="板橋會館")
    return World(
        chain=chain,
        xinyi=xinyi,
        banqiao=banqiao,
        alice=_staff(chain, xinyi, "alice", "clerk", "陳怡君"),
        bob=_staff(chain, xinyi, "bob", "manager", "王淑芬"),
        dora=_staff(chain, xinyi, "dora", "clerk", "張建國", presence="out"),
        charlie=_staff(chain, banqiao, "charlie", "clerk", "黃雅婷"),
        hq=_staff(chain, None, "hq", "hq", "周文華"),
    )


@pytest.fixture
def t0() -> datetime:
    """A fixed moment for calls built with explicit times (10:00 Taipei)."""
    return timezone.make_aware(datetime(2026, 11, 27, 10, 0, 0))
