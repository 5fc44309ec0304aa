"""Phones recording visits and syncing over HTTP in a loop, noting every acknowledgement.

Used by the backup and failover tests: what matters there is which changes
the server answered "applied" and when, against the moment the backup was
taken or the primary died.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from server.db import db
from server.visits.models import Visit
from sync.phone import Phone
from sync.transport import HttpTransport, TransportError
from tests.conftest import migrated_app
from tests.live import LiveServer
from tests.server.sync.world import County


class AckingTransport(HttpTransport):
    """HTTP, noting when the server acknowledged each pushed record."""

    def __init__(self, base_url: str, acks: list[tuple[float, str]]) -> None:
        super().__init__(base_url, timeout=10)
        self.acks = acks

    def push(
        self, token: str, device_time_ms: int, changes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        answer = super().push(token, device_time_ms, changes)
        at = time.monotonic()
        records = {change["change_id"]: change["record"]["id"] for change in changes}
        self.acks += [
            (at, records[result["change_id"]])
            for result in answer["results"]
            if result["status"] in ("applied", "already_applied")
        ]
        return answer


@dataclass
class Burst:
    """One phone per cadre of ``county``, each recording a visit and syncing, until stopped."""

    county: County
    url: str
    phones: list[Phone] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    acks: list[tuple[float, str]] = field(default_factory=list)
    # When a sync failed; when one that succeeded began and ended (time.monotonic()).
    failures: list[float] = field(default_factory=list)
    successes: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for username in self.county.cadres:
            phone = self.county.phone(username, AckingTransport(self.url, self.acks))
            phone.sync()
            self.phones.append(phone)

    def start(self) -> None:
        for phone, username in zip(self.phones, self.county.cadres, strict=True):
            thread = threading.Thread(target=self._run, args=(phone, username), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def point_at(self, url: str) -> None:
        for phone in self.phones:
            phone.transport.base_url = url  # type: ignore[attr-defined]

    def wait_for_acks(self, count: int, timeout: float = 120) -> None:
        """Wait until the server has acknowledged ``count`` more records (a busy machine is slow)."""
        target = len(self.acks) + count
        deadline = time.monotonic() + timeout
        while len(self.acks) < target:
            assert time.monotonic() < deadline, f"fewer than {count} acknowledged in {timeout} s"
            time.sleep(0.05)

    def acknowledged_before(self, moment: float) -> set[str]:
        return {record for at, record in list(self.acks) if at < moment}

    def finish(self) -> list[Any]:
        """Sync every phone until its outbox is empty; the reports of the last syncs."""
        return [phone.sync_with_retry(attempts=8, base_delay=0.2) for phone in self.phones]

    def close(self) -> None:
        for phone in self.phones:
            phone.close()

    def _run(self, phone: Phone, username: str) -> None:
        households = self.county.households[username]
        number = 0
        while not self._stop.is_set():
            self.recorded.append(
                phone.record_visit(households[number % len(households)], notes=f"第{number}次")
            )
            number += 1
            began = time.monotonic()
            try:
                phone.sync()
                self.successes.append((began, time.monotonic()))
            except TransportError:
                self.failures.append(time.monotonic())
                time.sleep(0.05)


def visit_ids(engine: Engine) -> tuple[set[str], int]:
    """The visits a database holds: their ids, and how many rows."""
    with engine.connect() as connection:
        ids = {str(row) for row in connection.scalars(select(Visit.id))}
        rows = connection.scalar(select(func.count()).select_from(Visit)) or 0
    return ids, rows


def pushing_county(
    url: str, tmp_path: Path, later: ExitStack, **county: Any
) -> tuple[LiveServer, Burst]:
    """A small county on the (empty) database at ``url``, ``minqing serve`` on
    it and its phones pushing, all stopped by ``later`` when the test ends."""
    app = migrated_app(url)
    built = County.build(app, tmp_path, **county)
    db.dispose(app)
    server = LiveServer(url, tmp_path / "instance")
    later.callback(server.stop)
    server.start()
    burst = Burst(built, server.url)
    later.callback(burst.close)
    later.callback(burst.stop)
    burst.start()
    return server, burst
