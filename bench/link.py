"""Links between a phone and its server, for the benchmarks and the tests: a
local socket server base, and a weak link (a TCP proxy that moves bytes at a
2G rate and cuts the connection at random points)."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass

# Bytes moved in one go: small against a second of a 2G link.
PIECE = 1024


class LocalServer:
    """A socket on a free local port whose connections, one at a time on a
    thread of its own, go to ``answer``: the base of the tests' fake servers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        # A shut-down listener wakes the accept() waiting on it; a closed one would not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                self.answer(client)

    def answer(self, client: socket.socket) -> None:
        raise NotImplementedError


@dataclass
class LinkCounters:
    """What crossed the link: bytes each way, connections, and cuts made."""

    up: int = 0
    down: int = 0
    connections: int = 0
    cuts: int = 0


class ShapedLink(LocalServer):
    """A proxy to ``upstream_port``: ``rate`` bytes a second each way (None:
    as fast as it goes), each byte arriving ``delay`` seconds after it left
    (a round trip is twice that, a new connection's handshake one more), and
    with ``cut_every`` the connection cut after that many bytes sent up on
    average (a Poisson process, seeded: cuts fall at random points, inside
    requests as between them). A phone keeps one connection at a time: they
    are served one after another."""

    def __init__(
        self,
        upstream_port: int,
        rate: float | None = None,
        cut_every: int | None = None,
        seed: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.delay = delay
        self.cut_every = cut_every
        self.counters = LinkCounters()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._next_cut = self._draw_cut(0)
        super().__init__()

    def _draw_cut(self, after: int) -> int | None:
        if self.cut_every is None:
            return None
        return after + max(1, int(self._rng.expovariate(1 / self.cut_every)))

    def answer(self, client: socket.socket) -> None:
        self.counters.connections += 1
        time.sleep(2 * self.delay)  # TCP's handshake: a round trip before the first byte
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            return
        with upstream:
            down = threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True)
            down.start()
            self._pump(client, upstream, True)
            down.join()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        """Copy ``source`` to ``sink`` at the rate, cutting both where a cut falls."""
        sent_at = time.monotonic()
        try:
            while True:
                piece = source.recv(PIECE)
                arrived = time.monotonic()
                if not piece:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                    return
                if up and self._cut_in(len(piece)):
                    _cut(source, sink)
                    return
                if self.rate or self.delay:
                    sending = len(piece) / self.rate if self.rate else 0.0
                    sent_at = max(sent_at + sending, arrived + self.delay)
                    time.sleep(max(0.0, sent_at - time.monotonic()))
                sink.sendall(piece)
                with self._lock:
                    if up:
                        self.counters.up += len(piece)
                    else:
                        self.counters.down += len(piece)
        except OSError:
            _cut(source, sink)

    def _cut_in(self, length: int) -> bool:
        """Whether the next cut falls within the next ``length`` bytes up."""
        with self._lock:
            if self._next_cut is None or self.counters.up + length < self._next_cut:
                return False
            self.counters.up = self._next_cut
            self._next_cut = self._draw_cut(self._next_cut)
            self.counters.cuts += 1
            return True


def _cut(*ends: socket.socket) -> None:
    for end in ends:
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()
