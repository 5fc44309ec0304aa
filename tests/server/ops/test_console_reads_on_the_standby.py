"""The console's heavy reports read from a streaming standby when
DATABASE_READ_URL names one, so a county's dashboards do not load the
primary that takes the phones' pushes."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

from server.db import db
from tests.conftest import migrated_app
from tests.live import LiveServer
from tests.server.ops.clusters import Cluster, scratch
from tests.server.sync.world import PASSWORD, County

READER = "minqing-reports"


def test_the_coverage_and_ledger_reports_read_the_standby_and_show_what_the_primary_holds(
    tmp_path: Path,
    later: ExitStack,
) -> None:
    root = scratch("minqing-reads-")
    later.callback(shutil.rmtree, root, ignore_errors=True)
    # Every statement in each cluster's log, with the client's application name.
    logged = {"log_statement": "all", "log_line_prefix": "'%a '"}
    primary = Cluster.create(root, "primary", **logged)
    later.callback(primary.stop)
    primary.start()
    primary.execute("CREATE DATABASE minqing")
    app = migrated_app(primary.url("minqing"))
    county = County.build(app, tmp_path, cadres=2)
    db.dispose(app)
    standby = Cluster.standby_of(primary, root, "standby", **logged)
    later.callback(standby.stop)
    standby.start()
    standby.wait_for("SELECT count(*) FROM household", 6, database="minqing")

    server = LiveServer(
        primary.url("minqing"),
        tmp_path / "instance",
        environment={"DATABASE_READ_URL": f"{standby.url('minqing')}?application_name={READER}"},
    )
    later.callback(server.stop)
    server.start()
    browser = server.console(county.admin, PASSWORD)
    for path in ("/coverage", "/coverage/households", "/ledger"):
        with browser.open(f"{server.url}{path}", timeout=30) as page:
            assert page.status == 200
            text = page.read().decode()
    assert "前楼镇" in text, "the county's towns, as the primary holds them"

    def reports_run_on(cluster: Cluster) -> list[str]:
        log = (cluster.data / "log").read_text(errors="replace").splitlines()
        return [line for line in log if line.startswith(READER) and "household" in line]

    assert reports_run_on(standby), "the reports ran on the standby"
    assert reports_run_on(primary) == [], "and not on the primary"
