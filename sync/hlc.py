"""Hybrid logical clocks (Kulkarni, Demirbas et al., OPODIS 2014).

A stamp orders events by causality even when phone clocks are wrong: it
never goes backwards, and after a device hears of an event it stamps later
events after it. It packs into 64 bits: 48 bits of milliseconds since the
Unix epoch (enough until the year 10889) and a 16-bit counter for events in
the same millisecond. Ties between devices are broken by the device id, so
every replica orders any two stamps the same way.

On the wire a stamp is ``"<16 hex digits>@<node>"``; the strings sort in the
same order as the stamps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import total_ordering

COUNTER_BITS = 16
MAX_COUNTER = (1 << COUNTER_BITS) - 1
# A stamp more than this far ahead of the receiver's clock is not believed.
MAX_DRIFT_MS = 5 * 60 * 1000


class ClockError(ValueError):
    """A stamp that cannot be accepted (malformed or too far in the future)."""


@total_ordering
@dataclass(frozen=True, slots=True)
class Stamp:
    wall_ms: int
    counter: int
    node: str

    @property
    def packed(self) -> int:
        return (self.wall_ms << COUNTER_BITS) | self.counter

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Stamp):
            return NotImplemented
        return (self.packed, self.node) < (other.packed, other.node)

    def __str__(self) -> str:
        return f"{self.packed:016x}@{self.node}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        packed_hex, at, node = text.partition("@")
        if not at or not node or len(packed_hex) != 16:
            raise ClockError(f"malformed clock stamp {text!r}")
        try:
            packed = int(packed_hex, 16)
        except ValueError:
            raise ClockError(f"malformed clock stamp {text!r}") from None
        return cls(packed >> COUNTER_BITS, packed & MAX_COUNTER, node)

    def shifted(self, delta_ms: int) -> Stamp:
        """The same event, with its wall time corrected by ``delta_ms``."""
        return Stamp(max(0, self.wall_ms + delta_ms), self.counter, self.node)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """One replica's clock. ``offset_ms`` corrects a device clock known to be off.

    Safe to share between threads: the phone app stamps records on one
    thread while a sync observes the server's stamps on another.
    """

    def __init__(
        self,
        node: str,
        now_ms: Callable[[], int] = wall_clock_ms,
        offset_ms: int = 0,
        last: Stamp | None = None,
    ) -> None:
        self.node = node
        self._now_ms = now_ms
        self.offset_ms = offset_ms
        self._wall = last.wall_ms if last else 0
        self._counter = last.counter if last else 0
        self._lock = threading.Lock()

    def physical_ms(self) -> int:
        return self._now_ms() + self.offset_ms

    @property
    def last(self) -> Stamp | None:
        """The latest stamp made or seen, to carry the clock over a restart."""
        with self._lock:
            return Stamp(self._wall, self._counter, self.node) if self._wall else None

    def correct(self, offset_ms: int) -> None:
        """Run ``offset_ms`` off the device's clock from now on (the server's time).

        Stamps made while the device's clock ran ahead further than anyone
        would believe are forgotten: the server brings them back from the
        future as they arrive, and staying past them would stamp every later
        event in that future too. Other stamps are kept (causality).
        """
        with self._lock:
            self.offset_ms = offset_ms
            if self._wall > self.physical_ms() + MAX_DRIFT_MS:
                self._wall, self._counter = 0, 0

    def now(self) -> Stamp:
        """A stamp for a local event, later than every stamp seen so far."""
        with self._lock:
            physical = self.physical_ms()
            if physical > self._wall:
                self._wall, self._counter = physical, 0
            else:
                self._advance_counter()
            return Stamp(self._wall, self._counter, self.node)

    def observe(self, remote: Stamp, max_drift_ms: int = MAX_DRIFT_MS) -> None:
        """Move past a stamp received from another replica.

        Refuses a stamp further ahead of this clock than ``max_drift_ms``, so
        one phone with a wrong clock cannot drag everyone's time forward.
        """
        with self._lock:
            physical = self.physical_ms()
            if remote.wall_ms - physical > max_drift_ms:
                raise ClockError(
                    f"clock stamp {remote} is {(remote.wall_ms - physical) // 1000} s in the future"
                )
            if remote.wall_ms > self._wall:
                self._wall, self._counter = remote.wall_ms, remote.counter
            elif remote.wall_ms == self._wall:
                self._counter = max(self._counter, remote.counter)
            if physical > self._wall:
                self._wall, self._counter = physical, 0
            else:
                self._advance_counter()

    def _advance_counter(self) -> None:
        if self._counter == MAX_COUNTER:
            # 65,536 events in one millisecond: borrow the next millisecond.
            self._wall, self._counter = self._wall + 1, 0
        else:
            self._counter += 1
