from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telephony import sip_lab
from tests.telephony.sip_lab import Lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Kamailio and the collector, for the real SIP calls of one test module."""
    running = sip_lab.start(tmp_path_factory.mktemp("sip-lab"))
    try:
        yield running
    finally:
        sip_lab.stop(running)
