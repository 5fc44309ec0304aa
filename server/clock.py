"""The server's time: now, in UTC and in the milliseconds clock stamps count,
and the stamp of an edit made on the server (the console's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sync.hlc import Clock, Stamp, wall_clock_ms


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_ms() -> int:
    return wall_clock_ms()


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# The console's edits in this process, in the order they were made: two in
# one millisecond, or one after the server's clock stepped back, still
# stamp the later edit later, so it is not lost to the earlier one.
_CONSOLE_CLOCK = Clock("server", lambda: now_ms())


def console_stamp(account_id: uuid.UUID) -> Stamp:
    """A stamp for an edit made on the server by an admin."""
    stamp = _CONSOLE_CLOCK.now()
    return Stamp(stamp.wall_ms, stamp.counter, f"server:{account_id}")
