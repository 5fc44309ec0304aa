"""``minqing serve`` on a free local port, waited for until it answers: the
benchmarks' server (bench/sync.py) and the tests' live one (tests/live.py)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    seconds: float,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Return once the server at ``url`` answers its login page and ``ready()``;
    raise with the end of its ``log`` if ``process`` exits, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{url}/login", timeout=1).close()
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start within {seconds:g} s")
