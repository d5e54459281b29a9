from __future__ import annotations


class ActionError(ValueError):
    """An action refused for what was given; `field` names the form field
    to mark, and the message is shown to the clerk as is (zh-Hant)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
