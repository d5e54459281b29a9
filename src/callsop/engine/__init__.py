"""The SOP engine: pure functions from call records and a policy to scorecards.

Nothing here imports Django or reads the clock; time comes in as data.
"""

from __future__ import annotations

from callsop.engine.findings import Finding, Scorecard
from callsop.engine.scoring import score

__all__ = ["Finding", "Scorecard", "score"]
