"""Failover: the primary dies mid-burst, its synchronous standby is promoted,
and the server, given both hosts, carries on with nothing lost or doubled."""

from __future__ import annotations

import shutil
import time
from contextlib import ExitStack
from pathlib import Path

from server.db import make_engine
from tests.server.ops.burst import pushing_county, visit_ids
from tests.server.ops.clusters import Cluster, scratch

STANDBY = "standby1"


def test_a_primary_killed_mid_burst_fails_over_to_its_synchronous_standby_losing_and_doubling_nothing(
    tmp_path: Path,
    later: ExitStack,
) -> None:
    root = scratch("minqing-failover-")
    later.callback(shutil.rmtree, root, ignore_errors=True)
    primary = Cluster.create(root, "primary", synchronous_commit="on")
    later.callback(primary.stop)
    primary.start()
    primary.execute("CREATE DATABASE minqing")
    standby = Cluster.standby_of(primary, root, STANDBY)
    later.callback(standby.stop)
    standby.start()
    # From now on a commit returns only once the standby has it on disk
    # (docs/backup.md says why synchronous, and what it costs). Set once
    # the standby is there: before, every commit would wait for it.
    primary.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY}'")
    primary.execute("SELECT pg_reload_conf()")
    primary.wait_for(
        f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY}'",
        "sync",
    )
    # Both hosts; libpq takes the first that accepts writes.
    url = (
        f"postgresql://postgres@/minqing?host=127.0.0.1:{primary.port}"
        f"&host=127.0.0.1:{standby.port}&target_session_attrs=read-write&connect_timeout=3"
    )
    server, burst = pushing_county(url, tmp_path, later, cadres=3)
    burst.wait_for_acks(12)

    killed_at = time.monotonic()
    primary.kill()
    acknowledged = burst.acknowledged_before(killed_at)
    standby.promote()
    # A sync begun after the kill that went through: the phones sync again.
    while not (after := [end for began, end in list(burst.successes) if began > killed_at]):
        assert time.monotonic() - killed_at < 60, "the phones did not sync again within 60 s"
        time.sleep(0.05)
    back_after = min(after) - killed_at
    time.sleep(1)  # and on, against the new primary
    burst.stop()
    reports = burst.finish()

    assert len(acknowledged) >= 12
    assert any(moment > killed_at for moment in burst.failures), "the kill was felt"
    assert all(report.ok for report in reports), [report.error for report in reports]
    engine = make_engine(standby.url("minqing"))
    try:
        ids, rows = visit_ids(engine)
    finally:
        engine.dispose()
    assert acknowledged <= ids, "every push answered before the kill is on the new primary"
    assert ids == set(burst.recorded) and rows == len(burst.recorded)
    print(f"failover: phones synced again {back_after:.2f} s after the primary died")
    (tmp_path / "failover.txt").write_text(f"{back_after:.3f}\n")
