"""The real app in-process behind the phone's HTTP transport, for fast tests.

End-to-end tests use sync.transport.HttpTransport against a running server;
property tests run thousands of syncs and use this instead: the same phone
code, views, services and database, without sockets.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from sync.transport import Headers, HttpTransport, NetworkError


class FlaskTransport(HttpTransport):
    def __init__(self, client: FlaskClient) -> None:
        super().__init__("")
        self.client = client
        # Set to make the next answers vanish after the server has acted
        # (a dropped connection on the way back).
        self.drop_responses = 0

    def _round_trip(
        self, method: str, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        response = self.client.open(path, method=method, data=payload, headers=headers)
        if self.drop_responses:
            self.drop_responses -= 1
            raise NetworkError("response lost (simulated)")
        return response.status_code, response.headers, response.get_data()
