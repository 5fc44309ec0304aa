"""The real app in-process behind the phone's transport interface, for fast tests.

End-to-end tests use sync.transport.HttpTransport against a running server;
property tests run thousands of syncs and use this instead. Both go through
the same views, services and database.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from flask.testing import FlaskClient

from shared.protocol import PROTOCOL_VERSION
from sync.transport import AuthError, NetworkError, RequestRefused, ServerError


class FlaskTransport:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        # Set to make the next answers vanish after the server has acted
        # (a dropped connection on the way back).
        self.drop_responses = 0

    def login(self, username: str, password: str, device_name: str) -> dict[str, Any]:
        body = {"username": username, "password": password, "device_name": device_name}
        return self._post("/api/v1/devices", body, None)

    def push(
        self, token: str, device_time_ms: int, changes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "device_time_ms": device_time_ms, "changes": changes}
        return self._post("/api/v1/sync/push", body, token)

    def pull(self, token: str, cursor: str | None, held: list[str], limit: int) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "cursor": cursor, "held": held, "limit": limit}
        return self._post("/api/v1/sync/pull", body, token)

    def _post(self, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"Content-Encoding": "gzip", "Accept-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.client.post(
            path,
            data=gzip.compress(json.dumps(body).encode()),
            headers=headers,
            content_type="application/json",
        )
        if self.drop_responses:
            self.drop_responses -= 1
            raise NetworkError("response lost (simulated)")
        raw = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        answer = json.loads(raw)
        if response.status_code == 401:
            raise AuthError(answer["message"])
        if response.status_code >= 500:
            raise ServerError(str(answer))
        if response.status_code >= 400:
            raise RequestRefused(response.status_code, answer.get("message", ""), answer)
        return answer  # type: ignore[no-any-return]
