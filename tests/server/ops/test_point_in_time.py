"""Point-in-time recovery: a base backup and the archived WAL bring the ledger
back to a named moment; the phones that synced after it send what it lacks."""

from __future__ import annotations

import shutil
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from server.db import make_engine
from tests.live import LiveServer
from tests.server.ops.burst import pushing_county, visit_ids
from tests.server.ops.clusters import Cluster, run, scratch


@pytest.mark.slow
def test_a_base_backup_and_archived_wal_recover_every_push_acknowledged_before_the_chosen_point(
    tmp_path: Path,
    later: ExitStack,
) -> None:
    root = scratch("minqing-pitr-")
    later.callback(shutil.rmtree, root, ignore_errors=True)
    archive = root / "archive"
    run("mkdir", archive)
    primary = Cluster.create(
        root,
        "primary",
        archive_mode="on",
        archive_command=f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
    )
    later.callback(primary.stop)
    primary.start()
    primary.execute("CREATE DATABASE minqing")
    # Taken before the ledger is made: the archived WAL replays all of it.
    primary.base_backup(root / "base")
    server, burst = pushing_county(primary.url("minqing"), tmp_path, later)
    burst.wait_for_acks(12)
    marked_at = time.monotonic()
    primary.execute("SELECT pg_create_restore_point('before_the_mistake')")
    burst.wait_for_acks(2)  # pushes after the point: the recovery will not have them
    burst.stop()
    server.stop()
    # The restore point's WAL segment goes to the archive once it is full or switched.
    segment = primary.execute("SELECT pg_walfile_name(pg_switch_wal())")[0][0]
    primary.wait_for(
        f"SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver", True, timeout=30
    )
    primary.stop()

    recovered = Cluster.recovered(
        root / "base",
        root,
        "recovered",
        restore_command=f"cp {archive}/%f %p",
        recovery_target_name="before_the_mistake",
        recovery_target_action="promote",
    )
    later.callback(recovered.stop)
    recovered.start()
    recovered.wait_for("SELECT pg_is_in_recovery()", False)
    restored = LiveServer(recovered.url("minqing"), tmp_path / "instance", port=server.port)
    later.callback(restored.stop)
    done = restored.minqing("db", "restored")
    assert done.returncode == 0, done.stderr
    engine = make_engine(recovered.url("minqing"))
    try:
        in_recovery, _ = visit_ids(engine)
        acknowledged = burst.acknowledged_before(marked_at)
        assert len(acknowledged) >= 12
        assert acknowledged <= in_recovery, "every push acknowledged before the point is back"
        assert set(burst.recorded) - in_recovery, "what came after the point is not"

        restored.start()
        reports = burst.finish()
        restored.stop()
        assert all(report.ok for report in reports), [report.error for report in reports]
        assert sum(report.resent for report in reports) > 0
        ids, rows = visit_ids(engine)
        assert ids == set(burst.recorded) and rows == len(burst.recorded)
    finally:
        engine.dispose()
