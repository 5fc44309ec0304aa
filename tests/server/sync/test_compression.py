"""Answers are compressed for size, unless the phone says its link is fast."""

from __future__ import annotations

import gzip
import json

import pytest
from flask import Flask

from shared.protocol import FAST_LINK_HEADER, PROTOCOL_VERSION
from sync.phone import Phone
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County

# gzip's header says how hard its deflater worked (RFC 1952, XFL): 4 for
# zlib's fastest level, 0 for the levels between.
XFL = 8


@pytest.fixture
def phone(county: County, transport: FlaskTransport) -> Phone:
    return county.phone(county.cadres[0], transport)


def first_page(sync_app: Flask, phone: Phone, **headers: str) -> bytes:
    response = sync_app.test_client().post(
        "/api/v1/sync/pull",
        data=gzip.compress(json.dumps({"protocol": PROTOCOL_VERSION}).encode()),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {phone.store.get_meta('token')}",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
            **headers,
        },
    )
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert FAST_LINK_HEADER in response.headers["Vary"]
    return response.get_data()


def test_an_answer_is_compressed_for_size_by_default_and_for_speed_over_a_fast_link(
    sync_app: Flask, phone: Phone
) -> None:
    for_size = first_page(sync_app, phone)
    for_speed = first_page(sync_app, phone, **{FAST_LINK_HEADER: "fast"})
    assert (for_size[XFL], for_speed[XFL]) == (0, 4)
    assert len(for_speed) > len(for_size)
    size_page, speed_page = (json.loads(gzip.decompress(body)) for body in (for_size, for_speed))
    assert size_page["records"] == speed_page["records"]
