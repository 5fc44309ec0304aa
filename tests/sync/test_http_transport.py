"""The phone's HTTP transport over real sockets: one kept-alive connection for
a sync's requests, and a kept connection the server has closed meanwhile
replaced without the phone noticing."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

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
