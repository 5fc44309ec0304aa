"""A real server process (gunicorn, as in production) for tests over HTTP."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.link import LocalServer
from bench.serving import free_port, wait_until_serving
from tests.cli import MINQING, run_minqing


@dataclass
class LiveServer:
    """``minqing serve`` on a free port, against ``database_url``."""

    database_url: str
    instance_path: Path
    workers: int = 2
    # Settings of the server's own (TRUSTED_PROXIES=1 behind nginx, say).
    environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "MINQING_INSTANCE_PATH": str(self.instance_path),
            **self.environment,
        }

    def minqing(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``minqing *args`` with this server's database, instance and settings."""
        return run_minqing(self.database_url, self.instance_path, *args, **self.environment)

    @property
    def log_path(self) -> Path:
        return self.instance_path / "server.log"

    def start(self) -> None:
        """Start the server (on the same port again, after a stop)."""
        self.port = self.port or free_port()
        self.instance_path.mkdir(parents=True, exist_ok=True)
        command = [str(MINQING), "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                env=self.env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        wait_until_serving(self.process, self.url, self.log_path, 30)

    @contextmanager
    def worker(self) -> Iterator[subprocess.Popen[bytes]]:
        """``minqing worker`` beside the server, as `make demo` and systemd run it;
        stopped (SIGTERM, after the job at hand) at the end of the block."""
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [str(MINQING), "worker"],
                env=self.env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        self.process = None

    def console(self, username: str, password: str) -> urllib.request.OpenerDirector:
        """A browser's cookies, signed in to the console as ``username``."""
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = opener.open(f"{self.url}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token is not None, "the login form carries its CSRF token"
        form = {"csrf_token": token.group(1), "username": username, "password": password}
        opener.open(f"{self.url}/login", urllib.parse.urlencode(form).encode(), timeout=10).close()
        return opener

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")


class DroppingProxy(LocalServer):
    """A TCP proxy in front of a server that can lose answers on the way back.

    With ``drop_next`` set, the request reaches the server and the server
    answers (and commits), but the client's connection is closed before it
    hears anything: the "sync cut after the server committed" case.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_next = 0
        super().__init__()

    def answer(self, client: socket.socket) -> None:
        # One request a connection: the server's answer then ends with its close.
        line, _, rest = _read_http_message(client).partition(b"\r\n")
        request = line + b"\r\nConnection: close\r\n" + rest
        with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            upstream.sendall(request)
            response = b"".join(iter(lambda: upstream.recv(65536), b""))
        if self.drop_next:
            self.drop_next -= 1
            return  # the answer is lost: close without a word
        client.sendall(response)


def _read_http_message(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


class FixedAnswerServer(LocalServer):
    """A socket that answers every request with the same status and raw body,
    as a proxy does whose server is down (502, 503) or a failing server (500);
    with ``raw`` set, it answers those bytes instead of HTTP (no TLS, say)."""

    def __init__(self, status: int = 503, body: bytes = b"", raw: bytes | None = None) -> None:
        # A raw answer goes out at once, before any request is read.
        self.raw = raw is not None
        self.fixed = raw or (
            b"HTTP/1.1 %d Failed\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status, len(body), body)
        )
        super().__init__()

    def answer(self, client: socket.socket) -> None:
        client.settimeout(5)
        with contextlib.suppress(OSError):
            if not self.raw:
                _read_http_message(client)
            client.sendall(self.fixed)
