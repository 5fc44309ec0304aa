"""The server's time: now, in UTC and in the milliseconds clock stamps count,
and the stamp of an edit made on the server (the console's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sync.hlc import Stamp, wall_clock_ms


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_ms() -> int:
    return wall_clock_ms()


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def console_stamp(account_id: uuid.UUID) -> Stamp:
    """A stamp for an edit made on the server by an admin."""
    return Stamp(now_ms(), 0, f"server:{account_id}")
