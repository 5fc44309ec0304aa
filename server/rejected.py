"""A change the rules refuse, with its reason: raised by a domain's rules,
answered to the phone (or the console) that sent it."""

from __future__ import annotations

from typing import Any


class Rejected(Exception):
    """One change is refused; the rest of its batch goes on.

    The message says, in Chinese and English, what was wrong; ``errors``
    names the fields at fault.
    """

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}
