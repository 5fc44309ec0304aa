"""Prometheus metrics, with the ecosystem's client library.

Counters and histograms are kept by each process as it serves; under
gunicorn (several workers) the client library's multiprocess mode shares
them through files in ``PROMETHEUS_MULTIPROC_DIR``, which ``minqing serve``
sets up (server/gunicorn_conf.py). Any layer may count here: this module
imports nothing of the server. The page that serves them is
server/monitoring/scrape.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    Counter,
    Histogram,
)

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
    "Time a writer waited for its county's change counter's lock (every push takes it)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


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
