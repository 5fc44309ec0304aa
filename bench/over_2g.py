"""A week's sync and a two-month backlog over 2G (issue 18, point 4).

A cadre's phone, synced, makes a week of work offline (as the sync
benchmark's return to town does), or nine such weeks, and then syncs
through a local proxy that moves 20 KB/s each way and delays every byte by
150 ms (a 300 ms round trip; a new connection's handshake costs one more),
to gunicorn on a copy of the scale-1 demo county (PostgreSQL). Then the
cadre's other phone, synced before the work, pulls it over the same link.

Each is run two ways:

* as the phone syncs now: one connection kept for the whole sync, and a
  push batch of 100 changes that doubles while the outbox is longer (up to
  the protocol's 500);
* as it synced before issue 18 (at fd699d4): a new connection for every
  request, and batches of 100.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.link import ShapedLink
from bench.report import machine, table
from bench.sync import (
    Server,
    TimedTransport,
    cadres,
    make_week,
    phone_folder,
    register_phones,
    scratch,
)
from sync.phone import Phone
from sync.transport import Headers

RATE = 20_000  # bytes a second each way
DELAY = 0.150  # seconds each way
BACKLOG_WEEKS = 9
OLD_BATCH = 100


def _progress(message: str) -> None:
    print(f"over-2g: {message}", file=sys.stderr, flush=True)


class ConnectionPerRequest(TimedTransport):
    """The transport as it was: every request on a connection of its own."""

    def _round_trip(
        self, method: str, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        try:
            return super()._round_trip(method, path, payload, headers)
        finally:
            self.close()


@dataclass
class Crossing:
    """One sync over the link."""

    changes: int
    records: int
    requests: int
    connections: int
    up: int
    down: int
    seconds: float


def _sync_over(path: Path, port: int, now: bool) -> Crossing:
    link = ShapedLink(port, rate=RATE, delay=DELAY)
    transport = (TimedTransport if now else ConnectionPerRequest)(link.url)
    phone = Phone(path, transport=transport)
    if not now:
        phone.engine.push_batch = phone.engine.most_per_push = OLD_BATCH
    changes = phone.pending_count()
    try:
        started = time.perf_counter()
        report = phone.sync()
        seconds = time.perf_counter() - started
    finally:
        phone.close()
        link.close()
    # A week's household edits may clash with the console's: a conflict is an answer too.
    assert report.ok and report.sent == changes and not report.rejected, report
    return Crossing(
        changes,
        report.received,
        transport.requests,
        link.counters.connections,
        link.counters.up,
        link.counters.down,
        seconds,
    )


def _case(url: str, server: Server, username: str, weeks: int, now: bool) -> list[Crossing]:
    """The writer's sync and the reader's pull of ``weeks`` of work."""
    writer, reader = register_phones(url, [username, username], phone_folder(), server.url)
    for path in (writer, reader):
        phone = Phone(path)
        assert phone.sync().ok
        phone.close()
    for _ in range(weeks):
        make_week(writer)
    return [_sync_over(writer, server.port, now), _sync_over(reader, server.port, now)]


def run() -> str:
    rows = []
    with scratch(1, "over_2g") as url, Server(url) as server:
        # Each work is done by one cadre both ways, on new phones each time
        # (the same week, made from the same seed): the same changes cross.
        week, backlog = cadres(url, 2)
        cases = [
            ("a week", 1, week),
            (f"two months ({BACKLOG_WEEKS} weeks)", BACKLOG_WEEKS, backlog),
        ]
        for label, weeks, username in cases:
            for way, now in (("before", False), ("now", True)):
                _progress(f"{label} over 2G, {way} …")
                writer, reader = _case(url, server, username, weeks, now)
                for side, crossing in (("push and pull", writer), ("other phone's pull", reader)):
                    rows.append(
                        [
                            label,
                            side,
                            way,
                            f"{crossing.changes:,}",
                            f"{crossing.records:,}",
                            f"{crossing.requests}",
                            f"{crossing.connections}",
                            f"{crossing.up / 1000:.1f}",
                            f"{crossing.down / 1000:.1f}",
                            f"{crossing.seconds:.1f}",
                        ]
                    )
    return (
        "## A week and a two-month backlog over 2G\n\n"
        + (__doc__ or "").split("\n\n", 1)[1]
        + "\n"
        + machine()
        + "\n\n"
        + table(
            [
                "work",
                "sync",
                "phone",
                "changes pushed",
                "records pulled",
                "requests",
                "connections",
                "KB up",
                "KB down",
                "seconds",
            ],
            rows,
        )
    )
