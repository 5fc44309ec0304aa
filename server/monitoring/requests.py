"""One JSON line per request on stdout, and the request id that ties it together.

The id comes from the caller's ``X-Request-ID`` (a front proxy's) when it is
a sane token, or is made here; it goes back in the answer's header, on the
console's error pages and in this log, so a cadre's or an admin's report of
a failure can be found in the server's log. The line is written by WSGI
middleware wrapped around everything else, so it also covers answers that
never reach a view (a refused gzip body, an unhandled error).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import request

from server.monitoring import metrics

# What the app adds to a request's log line as it learns it (see ``note``).
LOG_KEY = "minqing.log"
ID_KEY = "minqing.request_id"
HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

logger = logging.getLogger("minqing.requests")


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a line is written."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _stdout_json_lines() -> None:
    """The request log goes to stdout alone, one JSON object a line."""
    if logger.handlers:
        return
    handler = _Stdout()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def request_id() -> str:
    """The current request's id."""
    return str(request.environ.get(ID_KEY, ""))


def note(**fields: Any) -> None:
    """Add fields to the current request's log line (account, device, records synced)."""
    request.environ.setdefault(LOG_KEY, {}).update(fields)


def log_failure(_sender: Any, exception: BaseException, **_: Any) -> None:
    """An unhandled error, as a JSON line with its request's id and traceback."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "error",
        "request_id": request_id(),
        "error": repr(exception),
        "traceback": "".join(traceback.format_exception(exception)),
    }
    logger.error(json.dumps(line, ensure_ascii=False, default=str))


class RequestLog:
    """WSGI middleware: a request id in and out, and a log line and metrics per request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        _stdout_json_lines()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        environ[ID_KEY] = given if _SANE_ID.match(given) else uuid.uuid4().hex
        environ[LOG_KEY] = {}
        answer: dict[str, Any] = {"status": 500, "bytes": 0}

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answer["status"] = int(status.split(" ", 1)[0])
            headers.append((HEADER, environ[ID_KEY]))
            return start_response(status, headers, *exc_info)

        body = self.app(environ, start)
        return self._logged(environ, body, answer, started)

    def _logged(
        self,
        environ: dict[str, Any],
        body: Iterable[bytes],
        answer: dict[str, Any],
        started: float,
    ) -> Iterator[bytes]:
        try:
            for chunk in body:
                answer["bytes"] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            self._write(environ, answer, time.perf_counter() - started)

    def _write(self, environ: dict[str, Any], answer: dict[str, Any], seconds: float) -> None:
        fields = environ.get(LOG_KEY, {})
        route = fields.pop("route", None) or "(unrouted)"
        method = environ.get("REQUEST_METHOD", "")
        metrics.count_request(route, method, answer["status"], seconds)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": environ[ID_KEY],
            "method": method,
            "path": environ.get("PATH_INFO", ""),
            "route": route,
            "status": answer["status"],
            "duration_ms": round(seconds * 1000, 1),
            "bytes": answer["bytes"],
            "remote": environ.get("REMOTE_ADDR", ""),
            # Which gunicorn worker answered (its own log names workers by pid).
            "pid": os.getpid(),
            **fields,
        }
        logger.info(json.dumps(line, ensure_ascii=False, default=str))
