"""Why a sync failed, in the cadre's words: "no signal" only when no
connection could be opened; a server that cannot be talked to, or answers
with an error, is said as such. Each case is a real socket."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mobile.notebook import Notebook, SyncOutcome
from mobile.outcome import describe
from sync.transport import NoNetwork, RequestRefused, ServerError, ServerUnreachable
from tests.live import FixedAnswerServer

UNREACHABLE = (
    "有网络，但服务器暂时连不上——稍后会自动重试，一直如此请告诉县里管理员；0 条记录保存在手机上"
)


def _closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _answering(status: int, message: str = "") -> Callable[[list[FixedAnswerServer]], str]:
    def start(servers: list[FixedAnswerServer]) -> str:
        body = json.dumps({"message": message}, ensure_ascii=False).encode() if message else b""
        servers.append(FixedAnswerServer(status, body))
        return servers[-1].url

    return start


def _plain_http_to_https(servers: list[FixedAnswerServer]) -> str:
    servers.append(FixedAnswerServer(raw=b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS"))
    return servers[-1].url.replace("http:", "https:")


CASES = {
    "a closed port": (lambda _: _closed_port(), NoNetwork, "没有信号，连不上服务器"),
    "a name no DNS knows": (
        lambda _: "http://minqing.invalid",
        NoNetwork,
        "没有信号，连不上服务器",
    ),
    "a proxy answering 503": (_answering(503), ServerError, UNREACHABLE),
    "a proxy answering 502": (_answering(502), ServerError, UNREACHABLE),
    "a failed TLS handshake": (_plain_http_to_https, ServerUnreachable, UNREACHABLE),
    "a server answering 500": (
        _answering(500, "服务器内部错误 / internal error"),
        ServerError,
        "服务器出错（500: 服务器内部错误）——稍后会自动重试",
    ),
    "a server refusing with 400": (
        _answering(400, "协议版本不支持 / unsupported protocol"),
        RequestRefused,
        "服务器拒绝了同步：协议版本不支持——请告诉县里管理员",
    ),
}


@pytest.fixture
def servers() -> Iterator[list[FixedAnswerServer]]:
    started: list[FixedAnswerServer] = []
    yield started
    for server in started:
        server.close()


@pytest.mark.parametrize("case", list(CASES))
def test_each_way_a_sync_can_fail_is_said_in_its_own_plain_sentence(
    case: str, servers: list[FixedAnswerServer], tmp_path: Path
) -> None:
    start, error, sentence = CASES[case]
    url = start(servers)

    def sync() -> SyncOutcome:
        # Off the UI thread, as the app's sync runner does.
        notebook = Notebook(tmp_path / "minqing.db", url)
        account = json.dumps({"role": "cadre"})
        notebook.phone.store.set_meta({"token": "a device token", "account": account})
        try:
            return notebook.sync(lambda *_: None, lambda _seconds: None, 0.0)
        finally:
            notebook.close()

    with ThreadPoolExecutor(1) as thread:
        outcome = thread.submit(sync).result()
    assert isinstance(outcome.report.failure, error)
    said = describe(outcome, "zh").replace("\xa0", " ")
    assert said.startswith(sentence), said
    assert ("没有信号" in said) == (error is NoNetwork)
    assert "no signal" not in describe(outcome, "en").lower() or error is NoNetwork
