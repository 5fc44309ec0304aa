"""How gunicorn serves Minqing: ``minqing serve`` runs it with this file, and so
should anyone running gunicorn by hand (``gunicorn -c PATH/server/gunicorn_conf.py
server.wsgi:app``, by its path: read so, it imports nothing of the server into
gunicorn's master). docs/operations.md explains the choices.

Phones on 2G send slowly and sometimes stall mid-request. A sync worker is
held by each such connection for as long as it lasts, so two of them stop a
two-worker server. Here each worker runs a pool of threads (gthread): a
connection that sends nothing goes back to the worker's poller after 5 s,
off its thread, and one that trickles in holds one thread of many. Behind nginx
(deploy/nginx/minqing.conf), which forwards only whole requests, no slow
client reaches gunicorn at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

worker_class = "gthread"
workers = 2
# Threads per worker: a stalled client holds one while it trickles in, so
# there are enough that a handful of them leave most free. Each thread may
# hold one database connection (the pool is sized to match in ``post_fork``).
threads = 16
# A worker whose main loop stops answering the master for this long is
# restarted. gthread's loop does not wait on requests, so this does not cut
# a long push short; after a stop signal, requests get this long to finish.
timeout = 30
graceful_timeout = 30
# A phone's sync is a few requests in a row (push, then pulls): it reuses
# its connection instead of paying a new TCP (and TLS) handshake over 2G for
# each. An idle kept-alive connection waits in the poller, not on a thread.
keepalive = 15
# The app writes one JSON line per request itself (server/monitoring).
accesslog = None
# gunicorn's runtime control socket: unused, and by default one path per
# user, which two servers on a machine would fight over.
control_socket_disable = True

# Prometheus: each worker is its own process, so counters are kept in files
# that /metrics sums over all of them (prometheus_client's multiprocess mode).
# The client library reads the folder's name when first imported: set here,
# in the master before any worker loads the app.
_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server: Any) -> None:
    """Give the workers an empty metrics folder (a fresh start counts from 0)."""
    given = os.environ.get(_MULTIPROC)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        os.environ[_MULTIPROC] = tempfile.mkdtemp(prefix="minqing-metrics-")
        server.minqing_made_metrics_dir = os.environ[_MULTIPROC]


def post_fork(server: Any, worker: Any) -> None:
    """Size the worker's database pool to its threads, before the app is loaded."""
    os.environ["DATABASE_POOL_SIZE"] = str(worker.cfg.threads)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's gauges go; its counts stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    made = getattr(server, "minqing_made_metrics_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
