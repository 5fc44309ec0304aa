"""gzip both ways: phones on slow links send and receive compressed JSON."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from shared.protocol import FAST_LINK_HEADER, SIZE_GZIP_LEVEL, SPEED_GZIP_LEVEL

# Refuse to inflate a body beyond this: a small gzip can expand enormously.
MAX_INFLATED_BYTES = 32 * 1024 * 1024
# Below this, compressing costs more than it saves.
MIN_COMPRESS_BYTES = 1024


class GunzipRequests:
    """WSGI middleware: inflate ``Content-Encoding: gzip`` request bodies."""

    def __init__(self, app: Callable[..., Iterable[bytes]], max_compressed: int) -> None:
        self.app = app
        self.max_compressed = max_compressed

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("HTTP_CONTENT_ENCODING", "").lower() != "gzip":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.max_compressed:
            return _error(
                start_response,
                413,
                "请求内容过大，请分批发送 / the request is too large: send it in smaller batches",
            )
        body = environ["wsgi.input"].read(length)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            inflated = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
        except zlib.error:
            return _error(start_response, 400, "gzip 数据损坏 / the gzip body is corrupt")
        if len(inflated) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
            return _error(
                start_response,
                413,
                "解压后内容过大，请分批发送 / the inflated request is too large: send smaller batches",
            )
        if not inflater.eof:
            return _error(start_response, 400, "gzip 数据不完整 / the gzip body is truncated")
        environ["wsgi.input"] = io.BytesIO(inflated)
        environ["CONTENT_LENGTH"] = str(len(inflated))
        del environ["HTTP_CONTENT_ENCODING"]
        return self.app(environ, start_response)


def _error(start_response: Callable[..., Any], status: int, message: str) -> list[bytes]:
    reason = {400: "BAD REQUEST", 413: "REQUEST ENTITY TOO LARGE"}[status]
    body = json.dumps(
        {"code": status, "status": reason.title(), "message": message}, ensure_ascii=False
    ).encode()
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def init_app(app: Flask) -> None:
    app.wsgi_app = GunzipRequests(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])  # type: ignore[method-assign]

    @app.after_request
    def _gzip_response(response: Response) -> Response:
        if (
            "gzip" not in request.headers.get("Accept-Encoding", "").lower()
            or response.direct_passthrough
            or response.status_code < 200
            or "Content-Encoding" in response.headers
            or response.mimetype != "application/json"
        ):
            return response
        data = response.get_data()
        if len(data) < MIN_COMPRESS_BYTES:
            return response
        fast = request.headers.get(FAST_LINK_HEADER) == "fast"
        response.set_data(
            gzip.compress(data, compresslevel=SPEED_GZIP_LEVEL if fast else SIZE_GZIP_LEVEL)
        )
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = f"Accept-Encoding, {FAST_LINK_HEADER}"
        return response
