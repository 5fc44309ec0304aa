"""Authentication at the edge: password logins (throttled, and a bounded number
of password checks at once per worker) and phones' bearer device tokens
(``Authorization: Bearer <device token>``), which no login limit touches."""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import abort

from server.accounts import login
from server.accounts.models import Account, Device
from server.accounts.services import PasswordCheck, device_for_token
from server.clock import utcnow
from server.db import begin_write, db
from server.monitoring import note

F = TypeVar("F", bound=Callable[..., Any])


class ServerBusy(login.LoginRefused):
    """Every password check of this worker is taken: try again in a few seconds."""

    def __init__(self) -> None:
        # Spread out the retries of a crowd turned away at once.
        seconds = random.randint(2, 6)
        super().__init__(
            f"服务器正忙，请 {seconds} 秒后再试 / the server is busy: try again in {seconds} seconds",
            retry_after=seconds,
        )


@dataclass(frozen=True)
class PasswordChecks:
    """A worker's password checks: a few at once, on threads kept for them.

    A check takes a core and 19 MiB for tens of milliseconds; more at once
    only make each slower. They run on a pool of as many threads as may check
    at once, whatever the worker's own threads: the C allocator keeps memory
    a thread has used for that thread's next use, so 19 MiB checked on each
    of a threaded worker's many threads would stay taken (measured for 200
    logins at once on 2 workers of 32 threads: 950 MB, against 350 MB so).
    """

    slots: threading.BoundedSemaphore
    pool: ThreadPoolExecutor

    @contextmanager
    def slot(self, wait: float, waited: float = 0.0) -> Iterator[None]:
        """Hold one of the checks, or raise ``ServerBusy`` unless one comes
        free before a login that has ``waited`` already waits ``wait`` in all
        (the client hears so long before its own timeout)."""
        if waited >= wait or not self.slots.acquire(timeout=wait - waited):
            raise ServerBusy()
        try:
            yield
        finally:
            self.slots.release()

    def check(self, attempt: login.Attempt, password: str) -> PasswordCheck:
        return self.pool.submit(attempt.check, password).result()


def init_app(app: Flask) -> None:
    at_once = app.config["LOGIN_CHECKS_PER_WORKER"]
    app.extensions["minqing.password_checks"] = PasswordChecks(
        threading.BoundedSemaphore(at_once),
        ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="password-check"),
    )


def password_login(username: str, password: str) -> Account:
    """The account these credentials open for this request's client, or
    ``login.LoginRefused`` (``ServerBusy`` among them).

    The attempt is counted in a transaction of its own, committed before the
    password is checked; what the check decides goes into the request's
    transaction, committed here on a refusal (the failure must be kept) and
    by the request otherwise.
    """
    limits = login.LoginLimits.from_config(current_app.config)
    client = request.remote_addr or "unknown"
    checks: PasswordChecks = current_app.extensions["minqing.password_checks"]
    with checks.slot(current_app.config["LOGIN_CHECK_WAIT_SECONDS"], queued_seconds()):
        attempt = login.start(db.session, username, client, limits, utcnow())
        db.session.commit()
        check = checks.check(attempt, password)
    begin_write(db.session)
    try:
        return login.finish(db.session, attempt, check, limits, utcnow())
    except login.LoginRefused:
        db.session.commit()
        raise


def queued_seconds() -> float:
    """How long this request waited before a worker took it up: since its last
    bytes arrived, as Linux counts on gunicorn's socket (TCP_INFO's
    tcpi_last_data_recv). A sync worker's queue is the kernel's, where nothing
    of ours runs; counted so, a crowd that waited there is turned away quickly
    instead of each in turn running out its phone's timeout. 0 where the
    platform or server cannot tell."""
    connection = request.environ.get("gunicorn.socket")
    if connection is None or not hasattr(socket, "TCP_INFO"):
        return 0.0
    try:
        info = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return 0.0  # not a TCP connection (a Unix socket)
    (milliseconds,) = struct.unpack_from("I", info, _LAST_DATA_RECV)
    return float(milliseconds) / 1000


# struct tcp_info (linux/tcp.h): 8 one-byte fields, then 32-bit ones; the
# 12th of those is tcpi_last_data_recv.
_LAST_DATA_RECV = 8 + 11 * 4
_TCP_INFO_SIZE = 104


def current_device() -> Device:
    device: Device = g.device
    return device


def device_required(view: F) -> F:
    """Refuse the request with 401 unless it carries a live device token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        device = device_for_token(db.session, token) if scheme == "Bearer" and token else None
        if device is None:
            abort(
                401,
                message="设备未登录或访问已被撤销，请重新登录；未发送的记录仍保存在手机上"
                " / this device is not logged in or its access was revoked: log in again;"
                " unsent records stay on the phone",
            )
        g.device = device
        note(account=str(device.account_id), device=str(device.id))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
