"""The phone's HTTP transport over real sockets: one kept-alive connection for
a sync's requests, and a kept connection the server has closed meanwhile
replaced without the phone noticing."""

from __future__ import annotations

import gzip
import json
import os
import socket
from collections.abc import Iterator

import pytest

from bench.link import ShapedLink
from shared.protocol import FAST_LINK_HEADER
from sync.transport import HttpTransport, NetworkError
from tests.live import LocalServer, _read_http_message

PAGE = {"records": [], "evict": [], "cursor": "0", "more": False, "server_time_ms": 0}


class KeepAliveServer(LocalServer):
    """Answers every request with an empty page on a kept-alive connection;
    with ``close_when_idle``, closes each connection after its first answer,
    as a server does whose keep-alive ran out, without saying so."""

    def __init__(self, close_when_idle: bool) -> None:
        self.close_when_idle = close_when_idle
        self.connections = 0
        self.requests = 0
        super().__init__()

    def answer(self, client: socket.socket) -> None:
        self.connections += 1
        while _read_http_message(client):
            self.requests += 1
            body = json.dumps(PAGE).encode()
            client.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            if self.close_when_idle:
                break


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[KeepAliveServer]:
    served = KeepAliveServer(close_when_idle=request.param)
    yield served
    served.close()


@pytest.mark.parametrize("server", [False], indirect=True)
def test_a_syncs_requests_share_one_connection_until_the_transport_is_closed(
    server: KeepAliveServer,
) -> None:
    transport = HttpTransport(server.url, timeout=5)
    for _ in range(3):
        assert transport.pull("token", None, [], 100)["more"] is False
    transport.close()
    transport.pull("token", None, [], 100)
    transport.close()
    assert (server.connections, server.requests) == (2, 4)


@pytest.mark.parametrize("server", [True], indirect=True)
def test_a_kept_connection_the_server_closed_while_idle_is_replaced_once(
    server: KeepAliveServer,
) -> None:
    transport = HttpTransport(server.url, timeout=5)
    for _ in range(3):
        assert transport.pull("token", None, [], 100)["more"] is False
    transport.close()
    assert (server.connections, server.requests) == (3, 3), "each request sent and answered once"


def test_a_server_that_is_not_there_is_a_network_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    transport = HttpTransport(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(NetworkError):
        transport.pull("token", None, [], 100)


class BigAnswerServer(LocalServer):
    """Answers every pull with a page of 200 KB of records, gzipped; keeps
    each request's headers and whether its body was compressed for speed."""

    def __init__(self) -> None:
        records = [
            {"kind": "note", "id": str(n), "seq": n, "data": {"n": os.urandom(64).hex()}}
            for n in range(1000)
        ]
        self.body = gzip.compress(json.dumps({**PAGE, "records": records}).encode())
        self.asked: list[tuple[str | None, bool]] = []
        super().__init__()

    def answer(self, client: socket.socket) -> None:
        while message := _read_http_message(client):
            head, _, body = message.partition(b"\r\n\r\n")
            lines = [line.decode().partition(":") for line in head.split(b"\r\n")[1:]]
            headers = {name.strip().lower(): value.strip() for name, _, value in lines}
            self.asked.append((headers.get(FAST_LINK_HEADER.lower()), body[8] == 4))
            client.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(self.body), self.body)
            )


def test_a_phone_compresses_for_speed_only_once_a_big_answer_came_faster_than_a_fast_link() -> None:
    server = BigAnswerServer()
    slow = ShapedLink(server.port, rate=400_000)
    try:
        over_lan = HttpTransport(server.url, timeout=5)
        over_2g = HttpTransport(slow.url, timeout=30)
        for transport in (over_lan, over_2g):
            transport.pull("token", None, [], 100)
            transport.pull("token", None, [], 100)
            transport.close()
    finally:
        slow.close()
        server.close()
    # Nothing known of the link at first: for size. Then the answer came
    # over loopback (fast) or at 400 KB/s (not).
    assert server.asked == [(None, False), ("fast", True), (None, False), (None, False)]
    assert over_lan.fast_link and not over_2g.fast_link
    assert over_2g.link_rate is not None and over_2g.link_rate < 500_000
