"""Prometheus metrics, with the ecosystem's client library.

Counters and histograms are kept by each process as it serves; under
gunicorn (several workers) the client library's multiprocess mode shares
them through files in ``PROMETHEUS_MULTIPROC_DIR``, which ``minqing serve``
sets up (server/gunicorn_conf.py). What the ledger itself says (open
conflicts, phones not heard from) is read from the database when scraped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import timedelta

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

bp = Blueprint("metrics", __name__)

REQUESTS = Counter(
    "minqing_http_requests", "Requests answered, by route and status", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram("minqing_http_request_seconds", "Time to answer a request", ["route"])
SYNC_SECONDS = Histogram(
    "minqing_sync_seconds",
    "Server time of a push or a pull",
    ["op"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SYNC_RECORDS = Counter(
    "minqing_sync_records",
    "Records pushed (by result: applied, already_applied, conflict, rejected) and pulled",
    ["op", "result"],
)
LOCK_WAIT = Histogram(
    "minqing_change_counter_lock_seconds",
    "Time a writer waited for the change counter's lock (every push takes it)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Phones not heard from for these many days are counted (a lost or idle phone).
SILENT_DAYS = (7, 30)


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(seconds)


def count_push(results: Iterable[dict[str, object]], seconds: float) -> None:
    SYNC_SECONDS.labels("push").observe(seconds)
    for result in results:
        SYNC_RECORDS.labels("push", str(result.get("status"))).inc()


def count_pull(records: int, seconds: float) -> None:
    SYNC_SECONDS.labels("pull").observe(seconds)
    SYNC_RECORDS.labels("pull", "sent").inc(records)


class LedgerCollector(Collector):
    """Gauges read from the database at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
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
