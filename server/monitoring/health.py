"""Liveness and readiness, for a load balancer or an orchestrator.

Live: the process answers. Ready: it can serve — the database answers and
its schema is the one this version's migrations end at (a server started
before `minqing db upgrade` ran is not ready).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.db import db
from server.migrate import current_revision, head_revision

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.get("/live")
def live() -> dict[str, Any]:
    return {"status": "ok"}


@bp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    try:
        connection = db.session.connection()
        connection.execute(text("SELECT 1"))
        revision = current_revision(connection)
    except SQLAlchemyError as down:
        return {"status": "unavailable", "database": f"unreachable: {type(down).__name__}"}, 503
    expected = head_revision()
    if revision != expected:
        return {
            "status": "unavailable",
            "database": f"schema at {revision}, this version needs {expected}: run minqing db upgrade",
        }, 503
    return {"status": "ok", "database": "ok", "schema": revision}, 200
