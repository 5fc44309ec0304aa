"""How many changes a push carries: more while the outbox is long, fewer after a cut."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from shared.protocol import MAX_PUSH_CHANGES
from sync.engine import LEAST_PUSH_BATCH, PUSH_BATCH, SyncEngine, SyncReport
from sync.hlc import Clock, wall_clock_ms
from sync.sqlite_store import SQLiteStore
from sync.store import OutboxEntry
from sync.transport import ServerUnreachable

HOUSEHOLD = str(uuid.uuid4())


class PushServer:
    """Applies every change it is sent; cuts the connection of the pushes named in ``cuts``."""

    def __init__(self, cuts: Collection[int] = ()) -> None:
        self.cuts = cuts
        self.sizes: list[int] = []

    def push(
        self, token: str, device_time_ms: int, changes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.sizes.append(len(changes))
        if len(self.sizes) in self.cuts:
            raise ServerUnreachable("connection cut (scripted)")
        results = [{"change_id": c["change_id"], "status": "applied"} for c in changes]
        return {"server_time_ms": wall_clock_ms(), "results": results}


def phone_with_outbox(tmp_path: Path, server: PushServer, changes: int) -> SyncEngine:
    store = SQLiteStore(tmp_path / "phone.db")
    store.set_meta({"token": "t"})
    clock = Clock("phone-a")
    entries = []
    for _ in range(changes):
        visit = {"id": str(uuid.uuid4()), "household_id": HOUSEHOLD, "notes": "走访"}
        entries.append(
            OutboxEntry(
                str(uuid.uuid4()),
                "visit",
                "create",
                visit["id"],
                HOUSEHOLD,
                str(clock.now()),
                0,
                visit,
            )
        )
    store.commit_local([], entries, {})
    return SyncEngine(store, server, clock)  # type: ignore[arg-type]


def test_a_long_outbox_goes_in_batches_that_double_up_to_the_protocols_most(
    tmp_path: Path,
) -> None:
    server = PushServer()
    engine = phone_with_outbox(tmp_path, server, 2_000)
    report = SyncReport()
    engine.push(report)
    assert server.sizes == [100, 200, 400, 500, 500, 300]
    assert report.applied == 2_000 and engine.store.pending_count() == 0
    assert max(server.sizes) == MAX_PUSH_CHANGES


def test_a_short_outbox_is_sent_in_one_batch_and_does_not_grow_the_next(tmp_path: Path) -> None:
    server = PushServer()
    engine = phone_with_outbox(tmp_path, server, 30)
    engine.push(SyncReport())
    assert server.sizes == [30]
    assert engine.push_batch == PUSH_BATCH


def test_a_cut_connection_halves_the_next_batch_and_sends_nothing_twice(tmp_path: Path) -> None:
    server = PushServer(cuts={3})
    engine = phone_with_outbox(tmp_path, server, 1_000)
    with pytest.raises(ServerUnreachable):
        engine.push(SyncReport())
    # 100 and 200 went; the cut 400 is halved.
    assert server.sizes == [100, 200, 400]
    assert engine.push_batch == 200
    assert engine.store.pending_count() == 700
    engine.push(SyncReport())
    assert server.sizes[3:] == [200, 400, 100]
    assert engine.store.pending_count() == 0


def test_cuts_one_after_another_never_shrink_a_batch_below_the_least(tmp_path: Path) -> None:
    server = PushServer(cuts=set(range(1, 10)))
    engine = phone_with_outbox(tmp_path, server, 300)
    for _ in range(9):
        with pytest.raises(ServerUnreachable):
            engine.push(SyncReport())
    assert server.sizes[:4] == [100, 50, 25, 25]
    assert engine.push_batch == LEAST_PUSH_BATCH
    assert engine.store.pending_count() == 300
