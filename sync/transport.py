"""Talking to the server: JSON over HTTP(S), gzip both ways, standard library only."""

from __future__ import annotations

import gzip
import http.client
import json
import ssl
import threading
import time
import urllib.parse
from typing import Any, Protocol

from shared.protocol import (
    FAST_LINK_HEADER,
    PROTOCOL_VERSION,
    RECORDS_HEADER,
    SIZE_GZIP_LEVEL,
    SPEED_GZIP_LEVEL,
)


class Headers(Protocol):
    """An answer's headers (http.client's, or a test client's)."""

    def get(self, name: str, /) -> Any: ...


class TransportError(Exception):
    """The request did not get a usable answer."""


class NetworkError(TransportError):
    """No connection, a timeout, or a dropped response: worth retrying."""


class NoNetwork(NetworkError):
    """No connection could be opened: no route, no DNS, refused, or a connect
    that timed out. To the cadre this is "no signal"."""


class ServerUnreachable(NetworkError):
    """The network works but the server could not be talked to: the TLS
    handshake failed, or the answer was cut off on the way."""


class AuthError(TransportError):
    """401: the device's access was revoked (or it never logged in)."""


class DeviceLost(TransportError):
    """410: an admin reported this phone lost; it must erase its store."""


class RequestRefused(TransportError):
    """A 4xx other than 401: retrying the same request will not help."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ServerError(TransportError):
    """A 5xx: the server failed or is busy; worth retrying later (after
    ``retry_after`` seconds, when the server said)."""

    def __init__(self, message: str, retry_after: int | None = None, status: int = 500) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status

    @property
    def unreachable(self) -> bool:
        """502/503/504: a proxy (or the server itself) says the server is down,
        busy or cannot reach its database, not that a request failed in it."""
        return self.status in UNREACHABLE_STATUSES


UNREACHABLE_STATUSES = frozenset({502, 503, 504})

# Where level 1's CPU saved outweighs its extra bytes (shared/protocol.py).
FAST_LINK_BYTES_PER_S = 8_000_000
# An answer at least this big is read long enough to time the link by.
LINK_SAMPLE_BYTES = 64 * 1024

NO_PHOTO_RECORD = (
    "服务器上没有您可见的该照片记录（记录被拒绝或已删除）"
    " / the server has no record of this photo that you may see (refused or deleted)"
)


class Transport(Protocol):
    def login(
        self, username: str, password: str, device_name: str, registration_id: str | None = None
    ) -> dict[str, Any]: ...

    def push(
        self, token: str, device_time_ms: int, changes: list[dict[str, Any]]
    ) -> dict[str, Any]: ...

    def pull(
        self, token: str, cursor: str | None, held: list[str], limit: int
    ) -> dict[str, Any]: ...

    def confirm_wipe(self, token: str) -> None:
        """Tell the server this lost phone has erased its store."""

    def photo_offset(self, token: str, sha256: str) -> int:
        """How many bytes of the photo the server holds (all once stored)."""
        ...

    def upload_photo_chunk(
        self, token: str, sha256: str, offset: int, length: int, chunk: bytes
    ) -> int:
        """Send ``chunk`` at ``offset`` of the photo's ``length`` bytes; the
        offset the server holds after it (told where to resume if ``offset``
        was not it)."""
        ...

    def fetch_photo(self, token: str, sha256: str, thumbnail: bool) -> bytes:
        """The photo's bytes, or its thumbnail."""
        ...

    def close(self) -> None:
        """Let go of the connection kept since the last request, if any."""


class HttpTransport:
    """One kept-alive connection to the server, reused from request to request.

    Over 2G each new connection costs round trips (and TLS's more), so a
    sync's push and pulls share one; the phone closes it when the sync ends.
    ``cafile`` names the certificate(s) to trust for HTTPS besides the
    system's: a county's own certificate authority, or the server's
    self-signed certificate itself (pinned).
    """

    def __init__(self, base_url: str, timeout: float = 30.0, cafile: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cafile = cafile
        self.bytes_sent = 0
        self.bytes_received = 0
        # How fast the last big answer came, bytes a second (None: not yet known).
        self.link_rate: float | None = None
        self._connection: http.client.HTTPConnection | None = None
        # The pull ahead (sync/engine.py) asks from another thread.
        self._lock = threading.Lock()

    def login(
        self, username: str, password: str, device_name: str, registration_id: str | None = None
    ) -> dict[str, Any]:
        body = {"username": username, "password": password, "device_name": device_name}
        if registration_id is not None:
            body["registration_id"] = registration_id
        try:
            return self._post("/api/v1/devices", body, token=None)
        finally:
            self.close()  # a login is a request on its own, not part of a sync

    def push(
        self, token: str, device_time_ms: int, changes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "device_time_ms": device_time_ms, "changes": changes}
        return self._post("/api/v1/sync/push", body, token)

    def pull(self, token: str, cursor: str | None, held: list[str], limit: int) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "cursor": cursor, "held": held, "limit": limit}
        # Records' data as the text to store (sync/store.py reads either form).
        return self._post("/api/v1/sync/pull", body, token, {RECORDS_HEADER: "text"})

    def confirm_wipe(self, token: str) -> None:
        self._post("/api/v1/devices/wiped", {}, token)

    # A photo's bytes (server/photos/views.py): raw, not JSON.

    def photo_offset(self, token: str, sha256: str) -> int:
        status, headers, raw = self._request("HEAD", f"/api/v1/photos/{sha256}", b"", {}, token)
        if status == 404:  # a HEAD's answer has no body to say so
            raise RequestRefused(404, NO_PHOTO_RECORD)
        self._check(status, headers, raw)
        return _offset(headers)

    def upload_photo_chunk(
        self, token: str, sha256: str, offset: int, length: int, chunk: bytes
    ) -> int:
        headers = {
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Upload-Length": str(length),
        }
        self.bytes_sent += len(chunk)
        status, answer, raw = self._request(
            "PATCH", f"/api/v1/photos/{sha256}", chunk, headers, token
        )
        if status != 409:  # 409: resume at the server's offset
            self._check(status, answer, raw)
        return _offset(answer)

    def fetch_photo(self, token: str, sha256: str, thumbnail: bool) -> bytes:
        path = f"/api/v1/photos/{sha256}" + ("/thumbnail" if thumbnail else "")
        status, headers, raw = self._request("GET", path, b"", {}, token)
        self._check(status, headers, raw)
        return raw

    def _request(
        self, method: str, path: str, payload: bytes, headers: dict[str, str], token: str
    ) -> tuple[int, Headers, bytes]:
        status, answer, raw = self._round_trip(
            method, path, payload, {**headers, "Authorization": f"Bearer {token}"}
        )
        self.bytes_received += len(raw)
        return status, answer, raw

    @property
    def fast_link(self) -> bool:
        return self.link_rate is not None and self.link_rate >= FAST_LINK_BYTES_PER_S

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        token: str | None,
        asked: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        fast = self.fast_link
        payload = gzip.compress(
            json.dumps(body, ensure_ascii=False).encode(),
            compresslevel=SPEED_GZIP_LEVEL if fast else SIZE_GZIP_LEVEL,
        )
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
            **(asked or {}),
        }
        if fast:
            # A server from before this asks nothing of it: it answers at level 6.
            headers[FAST_LINK_HEADER] = "fast"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.bytes_sent += len(payload)
        status, answer_headers, raw = self._exchange(path, payload, headers)
        self.bytes_received += len(raw)
        self._check(status, answer_headers, raw)
        answer = _json(answer_headers, raw)
        if answer is None:
            raise ServerError("the server's answer is not JSON")
        return dict(answer or {})

    def _check(self, status: int, answer_headers: Headers, raw: bytes) -> None:
        """Raise what an error answer means; nothing for a success."""
        if status < 400:
            return
        answer = _json(answer_headers, raw)
        message = str(answer.get("message")) if isinstance(answer, dict) else f"HTTP {status}"
        if status == 401:
            raise AuthError(message)
        if status == 410:
            raise DeviceLost(message)
        if status >= 500:
            retry_after = str(answer_headers.get("Retry-After") or "")
            raise ServerError(
                f"{status}: {message}", int(retry_after) if retry_after.isdigit() else None, status
            )
        raise RequestRefused(status, message, answer)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _exchange(
        self, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        """POST one JSON request; its status, headers and raw body. (Measuring
        harnesses count the sync's requests by overriding this.)"""
        return self._round_trip("POST", path, payload, headers)

    def _round_trip(
        self, method: str, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        """Send one request; its status, headers and raw body."""
        with self._lock:
            kept = self._connection is not None and self._connection.sock is not None
            connection = self._open()
            try:
                return self._send(connection, method, path, payload, headers)
            except (ConnectionResetError, BrokenPipeError) as down:
                # A kept connection the server had closed while it was idle
                # (its keep-alive ran out): once more on a new one. Every
                # request may be repeated: a push is applied once by record
                # id, a login gives back the device of its registration id.
                self._drop()
                if not kept:
                    raise ServerUnreachable(str(down)) from None
            except (OSError, http.client.HTTPException) as down:
                # A timeout, or an answer cut off on the way.
                self._drop()
                raise ServerUnreachable(str(down)) from None
            try:
                return self._send(self._open(), method, path, payload, headers)
            except (OSError, http.client.HTTPException) as down:
                self._drop()
                raise ServerUnreachable(str(down)) from None

    def _open(self) -> http.client.HTTPConnection:
        """The kept connection, or a new one opened now; a failure to open is
        told apart here: no network, or a server that fails TLS."""
        connection = self._connection or self._connect()
        if connection.sock is not None:
            return connection
        try:
            connection.connect()
        except ssl.SSLError as refused:
            self._drop()
            raise ServerUnreachable(str(refused)) from None
        except OSError as down:
            self._drop()
            raise NoNetwork(str(down)) from None
        return connection

    def _connect(self) -> http.client.HTTPConnection:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=self.cafile)
            self._connection = http.client.HTTPSConnection(
                parts.netloc, timeout=self.timeout, context=context
            )
        else:
            self._connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        return self._connection

    def _send(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        path: str,
        payload: bytes,
        headers: dict[str, str],
    ) -> tuple[int, Headers, bytes]:
        prefix = urllib.parse.urlsplit(self.base_url).path
        connection.request(method, prefix + path, payload, headers)
        with connection.getresponse() as response:
            # From the headers on, an answer comes as fast as the link brings it.
            started = time.perf_counter()
            raw = response.read()
            took = time.perf_counter() - started
        if len(raw) >= LINK_SAMPLE_BYTES:
            self.link_rate = len(raw) / max(took, 1e-6)
        return response.status, response.headers, raw

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _json(headers: Headers, raw: bytes) -> Any:
    """An answer's JSON (gzip or not); None if it is none."""
    encoding = headers.get("Content-Encoding")
    try:
        return json.loads(gzip.decompress(raw) if encoding == "gzip" else raw)
    except (ValueError, OSError, EOFError):
        return None


def _offset(headers: Headers) -> int:
    value = str(headers.get("Upload-Offset") or "")
    if not value.isdigit():
        raise ServerError("the server's answer has no Upload-Offset")
    return int(value)
