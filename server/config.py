"""Settings, from the environment with safe defaults for a single-county server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

# The numbers every contact card (联系服务卡) prints; a county sets its own.
DEFAULT_SERVICE_NUMBERS = [
    "便民服务热线 12345",
    "报警 110",
    "火警 119",
    "急救 120",
    "县效能办 0596-5880000",
]


def load(instance_path: Path) -> dict[str, Any]:
    instance_path.mkdir(parents=True, exist_ok=True)
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance_path / 'minqing.db'}"),
        # A streaming standby for the console's heavy read-only reports
        # (db.reports); unset, they read the primary like everything else.
        "DATABASE_READ_URL": os.environ.get("DATABASE_READ_URL") or None,
        # Database connections each process keeps: one per thread serving
        # requests (server/gunicorn_conf.py sets it to a worker's threads).
        "DATABASE_POOL_SIZE": int(os.environ.get("DATABASE_POOL_SIZE") or 5),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        # A phone may send a week of work in one request; nothing legitimate
        # comes near this, and refusing early protects the server's memory.
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        # The console's cookie: not sent with other sites' forms or frames, not
        # readable by scripts and, served over HTTPS (MINQING_HTTPS=1), sent
        # over HTTPS only.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": os.environ.get("MINQING_HTTPS") == "1",
        # A console sign-in lasts a working day at most.
        "CONSOLE_SESSION_HOURS": 12,
        # Logins (server/accounts/login.py): an account is locked briefly after
        # five wrong passwords in a row; an address sending many is locked for
        # ever longer. Password checks at once per worker, and how long a login
        # may wait, queued and then for a check, before the server answers 503.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 1,
        "LOGIN_MAX_LOCK_MINUTES": 15,
        "LOGIN_CLIENT_MAX_FAILURES": 10,
        "LOGIN_CLIENT_LOCK_MINUTES": 1,
        "LOGIN_CHECKS_PER_WORKER": 2,
        "LOGIN_CHECK_WAIT_SECONDS": 5.0,
        # The county's rule for its phones: after this many minutes in the
        # background the app asks for the cadre's PIN again (sent at login).
        "PHONE_LOCK_MINUTES": int(os.environ.get("MINQING_PHONE_LOCK_MINUTES") or 5),
        # How many proxies in front of the server set X-Forwarded-For; with 0,
        # the client's address is the connection's (a header could be forged).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES") or 0),
        "API_TITLE": "Minqing 民情",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def _instance_secret(instance_path: Path) -> str:
    """A secret made once per installation and kept in the instance folder."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
