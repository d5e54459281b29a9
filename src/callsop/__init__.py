"""callsop: telephone-desk software that keeps a club's calls to its SOP."""

from __future__ import annotations

__version__ = "0.1.0"
