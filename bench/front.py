"""The production front on this machine: nginx as deploy/nginx/minqing.conf
has it, with a self-signed certificate, before a server on a local port.
The benchmarks time the county's burst through it, and the tests drive
slow clients and phones through it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Front:
    url: str
    port: int
    # The self-signed certificate: what a phone of this county is given to trust.
    cafile: str
    access_log: Path

    def logged(self) -> str:
        """nginx's access log, once it has written the last answer's line
        (just after sending the answer)."""
        time.sleep(0.2)
        return self.access_log.read_text()


def nginx_program() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def missing() -> str | None:
    """What this machine lacks to run the front, or None."""
    if nginx_program() is None:
        return "nginx is not installed: apt-get install nginx (or run .ci/run)"
    if shutil.which("openssl") is None:
        return "openssl is not installed: apt-get install openssl"
    return None


@contextmanager
def nginx_front(upstream_port: int, folder: Path) -> Iterator[Front]:
    """nginx over TLS on a free port, before the server on ``upstream_port``;
    its files (certificate, configuration, logs) in ``folder``."""
    lacking = missing()
    if lacking:
        raise RuntimeError(lacking)
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    conf = _configuration(folder, upstream_port, port, _free_port())
    process = subprocess.Popen(
        [str(nginx_program()), "-p", str(folder), "-c", str(conf)],
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode())  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start within 10 s") from None
                time.sleep(0.1)
        yield Front(
            f"https://127.0.0.1:{port}", port, str(folder / "cert.pem"), folder / "access.log"
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configuration(folder: Path, upstream: int, https: int, http: int) -> Path:
    """deploy/nginx/minqing.conf with these ports and certificate, in a main
    configuration whose files are all in ``folder``."""
    site = (ROOT / "deploy/nginx/minqing.conf").read_text()
    for shipped, here in [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;"),
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        ("/etc/ssl/minqing/fullchain.pem", str(folder / "cert.pem")),
        ("/etc/ssl/minqing/privkey.pem", str(folder / "key.pem")),
    ]:
        if shipped not in site:
            raise RuntimeError(f"deploy/nginx/minqing.conf no longer has {shipped!r}")
        site = site.replace(shipped, here)
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
daemon off;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"};
events {{ worker_connections 1024; }}
http {{
    log_format test '$connection $connection_requests $remote_addr $request_id "$request"';
    access_log {folder / "access.log"} test;
{temp}
{site}
}}
"""
    )
    return conf
