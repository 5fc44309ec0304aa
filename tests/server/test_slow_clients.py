"""Slow and stalled clients against the server as the README runs it (``minqing
serve``: gunicorn with server/gunicorn_conf.py), and through the production
front (deploy/nginx/minqing.conf, with TLS): others are still answered within
a second, and a phone syncs over HTTPS on one kept-alive connection."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.front import Front, missing, nginx_front
from mobile.notebook import Notebook
from server.visits.models import Visit
from sync.transport import HttpTransport, ServerUnreachable
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.server.sync.world import PASSWORD, County
from tests.system import require

STALLED = 15
# How long an answer may take while the stalled clients hang on.
PROMPT = 1.0


class StalledClients:
    """Connections that send a request a header line (or, for a login, a few
    bytes of its body) every 2 s and never finish it."""

    def __init__(
        self, port: int, count: int, context: ssl.SSLContext | None = None, every: float = 2.0
    ) -> None:
        self.sockets: list[socket.socket] = []
        for number in range(count):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            if context is not None:
                connection = context.wrap_socket(connection, server_hostname="127.0.0.1")
            if number % 3 == 2:
                connection.sendall(
                    b"POST /api/v1/devices HTTP/1.1\r\nHost: minqing\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"
                )
            else:
                connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: minqing\r\n")
            self.sockets.append(connection)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, args=(every,), daemon=True)
        self._thread.start()

    def _trickle(self, every: float) -> None:
        line = 0
        while not self._stop.wait(every):
            line += 1
            for number, connection in enumerate(self.sockets):
                trickle = b" " if number % 3 == 2 else b"X-Slow-%d: 1\r\n" % line
                # One cut off by the server is counted by still_waiting.
                with contextlib.suppress(OSError):
                    connection.sendall(trickle)

    def still_waiting(self) -> int:
        """How many are still connected with no answer yet."""
        waiting = 0
        for connection in self.sockets:
            connection.setblocking(False)
            try:
                connection.recv(1)
            except (BlockingIOError, ssl.SSLWantReadError):
                waiting += 1
            except OSError:
                pass
            connection.settimeout(5)
        return waiting

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for connection in self.sockets:
            connection.close()


def timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def answered_promptly(
    url: str, token: str, stalled: StalledClients, cafile: str | None = None
) -> list[float]:
    """A health check and a real pull, three times over 3 s; how long each took."""
    context = ssl.create_default_context(cafile=cafile) if cafile else None

    def health() -> None:
        with urllib.request.urlopen(f"{url}/health/live", timeout=5, context=context) as answer:
            assert answer.status == 200

    def pull() -> None:
        transport = HttpTransport(url, timeout=5, cafile=cafile)
        try:
            page = transport.pull(token, None, [], 100)
        finally:
            transport.close()
        assert page["records"], "the cadre's households came"

    times: list[float] = []
    for _ in range(3):
        times += [timed(health), timed(pull)]
        time.sleep(1)
    assert stalled.still_waiting() == STALLED, "the stalled clients hung on throughout"
    return times


@pytest.fixture
def county_server(
    backend: str, live_servers: LiveServers, tmp_path: Path
) -> tuple[LiveServer, County]:
    """A live server (trusting one proxy, as behind nginx) over a small county."""
    server, app = live_servers.ready(backend, environment={"TRUSTED_PROXIES": "1"})
    return server, County.build(app, tmp_path)


@pytest.fixture
def front(county_server: tuple[LiveServer, County], tmp_path: Path) -> Iterator[Front]:
    lacking = missing()
    require(lacking is None, "nginx cannot front the server here", str(lacking))
    server, _ = county_server
    with nginx_front(server.port, tmp_path / "nginx") as started:
        yield started


def logged_in_token(county: County, url: str, cafile: str | None = None) -> str:
    phone = county.phone(county.cadres[0], HttpTransport(url, cafile=cafile))
    try:
        return phone.engine.token
    finally:
        phone.close()


def test_fifteen_stalled_clients_leave_gunicorn_answering_others_within_a_second(
    county_server: tuple[LiveServer, County],
) -> None:
    server, county = county_server
    token = logged_in_token(county, server.url)
    stalled = StalledClients(server.port, STALLED)
    try:
        times = answered_promptly(server.url, token, stalled)
    finally:
        stalled.close()
    assert max(times) < PROMPT, times


def test_fifteen_stalled_clients_at_nginx_leave_others_answered_within_a_second(
    county_server: tuple[LiveServer, County], front: Front
) -> None:
    _, county = county_server
    token = logged_in_token(county, front.url, front.cafile)
    context = ssl.create_default_context(cafile=front.cafile)
    stalled = StalledClients(front.port, STALLED, context)
    try:
        times = answered_promptly(front.url, token, stalled, front.cafile)
    finally:
        stalled.close()
    assert max(times) < PROMPT, times


def test_a_phone_syncs_through_nginx_over_https_on_one_kept_connection(
    county_server: tuple[LiveServer, County], front: Front
) -> None:
    server, county = county_server
    username = county.cadres[0]
    phone = county.phone(username, HttpTransport(front.url, cafile=front.cafile))
    try:
        phone.sync()
        for household in county.households[username]:
            phone.record_visit(household, notes="走访")
        phone.engine.push_batch = phone.engine.most_per_push = 1
        report = phone.sync()
        assert report.applied == 3 and phone.pending_count() == 0
    finally:
        phone.close()
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 3
    # The second sync: three pushes and a pull, all on one connection.
    lines = [line.split() for line in front.logged().splitlines()]
    second = [line for line in lines if "/api/v1/sync/" in line[-2]][-4:]
    assert [line[-2] for line in second] == ["/api/v1/sync/push"] * 3 + ["/api/v1/sync/pull"]
    assert len({line[0] for line in second}) == 1
    assert [int(line[1]) for line in second] == [1, 2, 3, 4]


def test_the_phone_app_given_the_countys_certificate_syncs_over_https_and_without_it_says_why(
    county_server: tuple[LiveServer, County], front: Front, tmp_path: Path
) -> None:
    _, county = county_server
    username = county.cadres[0]
    untrusting = Notebook(tmp_path / "untrusting.db")
    try:
        with pytest.raises(ServerUnreachable, match="(?i)certificate"):
            untrusting.login(front.url, username, PASSWORD, "没有证书的手机")
    finally:
        untrusting.close()
    notebook = Notebook(tmp_path / "county.db", cafile=front.cafile)
    try:
        notebook.login(front.url, username, PASSWORD, "带县里证书的手机")
        outcome = notebook.sync(lambda *_: None, lambda _seconds: None, 0.0)
        assert outcome.report.ok, outcome.report.error
        assert len(notebook.households()) == len(county.households[username])
    finally:
        notebook.close()


def test_behind_nginx_the_server_sees_the_clients_address_and_nginxs_request_id(
    county_server: tuple[LiveServer, County], front: Front
) -> None:
    server, _ = county_server
    context = ssl.create_default_context(cafile=front.cafile)

    def get(path: str, source: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", front.port, timeout=5, context=context, source_address=(source, 0)
        )
        # A forged address: nginx replaces it with the one it saw.
        connection.request("GET", path, headers={"X-Forwarded-For": "203.0.113.9"})
        answer = connection.getresponse()
        answer.read()
        connection.close()
        return answer

    answer = get("/health/live", "127.0.0.2")
    assert answer.status == 200
    request_id = answer.headers["X-Request-ID"]
    assert request_id in front.logged(), "nginx's id reached the server"
    logged = [
        json.loads(line)
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{") and request_id in line
    ]
    assert [line["remote"] for line in logged] == ["127.0.0.2"]
    assert get("/metrics", "127.0.0.2").status == 403, "/metrics only from the machine itself"
    assert get("/metrics", "127.0.0.1").status == 200


def test_nginx_refuses_a_body_over_the_servers_limit_with_the_servers_message(
    county_server: tuple[LiveServer, County], front: Front
) -> None:
    context = ssl.create_default_context(cafile=front.cafile)
    with context.wrap_socket(
        socket.create_connection(("127.0.0.1", front.port), timeout=5), server_hostname="127.0.0.1"
    ) as connection:
        # Refused on its length alone, before the 9 MB are sent.
        connection.sendall(
            b"POST /api/v1/sync/push HTTP/1.1\r\nHost: minqing\r\n"
            b"Content-Type: application/json\r\nContent-Length: 9000000\r\n\r\n{"
        )
        answer = http.client.HTTPResponse(connection)  # type: ignore[arg-type]
        answer.begin()
        body = json.loads(answer.read())
    assert answer.status == 413
    assert body["message"].startswith("请求内容过大") and "smaller batches" in body["message"]


def test_metrics_count_every_request_whichever_worker_answered_even_one_since_killed(
    tmp_path: Path,
) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'metrics.db'}", tmp_path / "instance", workers=2)
    assert server.minqing("db", "init").returncode == 0
    server.start()

    def health() -> None:
        urllib.request.urlopen(f"{server.url}/health/live", timeout=5).close()

    def answered_by() -> list[int]:
        """The worker of each health check, from the log (written once counted)."""
        return [
            json.loads(line)["pid"]
            for line in server.log_path.read_text().splitlines()
            if line.startswith("{") and '"/health/live"' in line
        ]

    def logged(count: int) -> list[int]:
        # A request is counted, then logged, just after its answer has gone.
        deadline = time.monotonic() + 10
        while len(answered_by()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return answered_by()

    try:
        for _ in range(10):
            health()
        # The worker that answered first is killed; gunicorn starts another.
        first = logged(10)[0]
        os.kill(first, signal.SIGKILL)
        for _ in range(10):
            health()
        workers = set(logged(20))
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.stop()
    assert len(workers) >= 2 and first in workers
    counted = re.search(
        r'minqing_http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)',
        text,
    )
    assert counted is not None and float(counted.group(1)) == 20


def test_a_busy_port_is_one_sentence_naming_another_port(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'busy.db'}", tmp_path / "instance")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = server.minqing("serve", "--port", str(port))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert f"Port {port} is in use" in line and f"make demo PORT={port + 1}" in line
    assert f"端口 {port} 已被占用" in line
