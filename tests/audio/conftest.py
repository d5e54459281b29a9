from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.audio.scripted import SCENARIOS, Built, build

BuildCall = Callable[..., Built]


@pytest.fixture(scope="session")
def scripted_call(tmp_path_factory: pytest.TempPathFactory) -> BuildCall:
    """Builds a named scenario once per session and set of options:
    `scripted_call("rule_breaker", rate=16000, encoding="pcm16")`."""
    built: dict[tuple[str, tuple[tuple[str, Any], ...]], Built] = {}
    folder = tmp_path_factory.mktemp("scripted")

    def make(name: str, **options: Any) -> Built:
        key = (name, tuple(sorted(options.items())))
        if key not in built:
            stem = f"{name}-{len(built)}"
            built[key] = build(SCENARIOS[name](), Path(folder), name=stem, **options)
        return built[key]

    return make
