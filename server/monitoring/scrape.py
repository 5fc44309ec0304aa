"""The ``/metrics`` page: what every process counted (server/monitoring/metrics.py),
and what the ledger itself says (open conflicts, phones not heard from),
read from the database when scraped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

bp = Blueprint("metrics", __name__)

# Phones not heard from for these many days are counted (a lost or idle phone).
SILENT_DAYS = (7, 30)


class LedgerCollector(Collector):
    """Gauges read from the database at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Imported here: the change numbering under every model counts into
        # this package, so its first import must not need the models.
        from server.accounts.models import Device
        from server.clock import utcnow
        from server.db import db
        from server.sync.models import Conflict

        session = db.session
        conflicts = GaugeMetricFamily(
            "minqing_open_conflicts", "Conflicts waiting for an admin's decision"
        )
        conflicts.add_metric(
            [], session.scalar(select(func.count()).where(Conflict.status == "open")) or 0
        )
        yield conflicts
        silent = GaugeMetricFamily(
            "minqing_phones_not_seen",
            "Live (not revoked) phones not heard from for at least this many days",
            labels=["days"],
        )
        now = utcnow()
        for days in SILENT_DAYS:
            count = session.scalar(
                select(func.count()).where(
                    Device.revoked_at.is_(None),
                    func.coalesce(Device.last_seen_at, Device.created_at)
                    < now - timedelta(days=days),
                )
            )
            silent.add_metric([str(days)], count or 0)
        yield silent


@bp.get("/metrics")
def scrape() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        served = CollectorRegistry()
        multiprocess.MultiProcessCollector(served)
    else:
        served = REGISTRY
    ledger = CollectorRegistry()
    ledger.register(LedgerCollector())
    return Response(generate_latest(served) + generate_latest(ledger), mimetype=CONTENT_TYPE_LATEST)
