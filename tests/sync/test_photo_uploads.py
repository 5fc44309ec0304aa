"""Photos' bytes over a weak link to a real server (gunicorn, SQLite and
PostgreSQL): uploads cut at random points resume where the server stopped,
and every photo ends stored exactly once, however many phones send it."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.link import ShapedLink
from bench.samples import phone_photo
from server.photos.models import Photo, PhotoBlob, PhotoUploadChunk
from sync.engine import PHOTO_CHUNK
from sync.phone import Phone
from sync.transport import HttpTransport, TransportError
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.sync.world import County

# Syncs a phone may need over the cutting link before its photos are all up.
MOST_SYNCS = 80


@pytest.fixture
def live(backend: str, live_servers: LiveServers, tmp_path: Path) -> tuple[LiveServer, County]:
    server, app = live_servers.ready(backend)
    return server, County.build(app, tmp_path)


def _phone_behind(county: County, server: LiveServer, username: str, link: ShapedLink) -> Phone:
    """A phone logged in and synced over a good link, then moved behind ``link``."""
    phone = county.phone(username, HttpTransport(server.url))
    assert phone.sync().ok
    path = phone.store.path
    phone.close()
    return Phone(path, transport=HttpTransport(link.url, timeout=10))


def _sync_until_sent(phone: Phone) -> int:
    """Sync until every photo is up, as the app does each time signal comes back; the syncs cut."""
    cut = 0
    for _ in range(MOST_SYNCS):
        try:
            phone.sync()
        except TransportError:
            cut += 1
        if phone.photos_to_send() == (0, 0):
            return cut
    raise AssertionError(f"photos still to send after {MOST_SYNCS} syncs: {phone.photos_to_send()}")


def _stored(county: County) -> tuple[dict[str, bytes], int, int]:
    """The blobs by hash (their bytes), the upload chunks left, the photo records."""
    with county.session() as session:
        blobs = {
            sha: bytes(data)
            for sha, data in session.execute(select(PhotoBlob.sha256, PhotoBlob.data))
        }
        chunks = session.scalar(select(func.count()).select_from(PhotoUploadChunk)) or 0
        records = session.scalar(select(func.count()).select_from(Photo)) or 0
    return blobs, chunks, records


def test_uploads_cut_at_random_points_resume_and_store_each_photo_exactly_once(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    username = county.cadres[0]
    link = ShapedLink(server.port, cut_every=40_000, seed=17)
    try:
        phone = _phone_behind(county, server, username, link)
        photos = [phone_photo(seed) for seed in range(4)]
        for number, jpeg in enumerate(photos):
            household_id = county.households[username][number % 3]
            visit_id = phone.record_visit(household_id, notes=f"第{number}张")
            phone.attach_photo("visit", visit_id, jpeg)
        sent_before = phone.transport.bytes_sent  # type: ignore[attr-defined]
        cut = _sync_until_sent(phone)
        sent = phone.transport.bytes_sent - sent_before  # type: ignore[attr-defined]
        phone.close()
    finally:
        link.close()

    blobs, chunks, records = _stored(county)
    assert {hashlib.sha256(jpeg).hexdigest(): jpeg for jpeg in photos} == blobs
    assert chunks == 0 and records == 4
    assert cut > 0 and link.counters.cuts >= cut
    # Resumed, not restarted: each cut cost at most the chunk it fell in
    # (and the small requests around it), not the photo's bytes sent before it.
    assert sent < sum(map(len, photos)) + link.counters.cuts * (PHOTO_CHUNK + 4096)


def test_the_same_photo_sent_by_two_phones_at_once_over_cutting_links_is_stored_once(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    jpeg = phone_photo(7)
    links = [ShapedLink(server.port, cut_every=60_000, seed=seed) for seed in (1, 2)]
    try:
        phones = [
            _phone_behind(county, server, username, link)
            for username, link in zip(county.cadres, links, strict=True)
        ]
        for phone, username in zip(phones, county.cadres, strict=True):
            visit_id = phone.record_visit(county.households[username][0], notes="同一张照片")
            phone.attach_photo("visit", visit_id, jpeg)
        threads = [threading.Thread(target=_sync_until_sent, args=(phone,)) for phone in phones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert all(phone.photos_to_send() == (0, 0) for phone in phones)
        for phone in phones:
            phone.close()
    finally:
        for link in links:
            link.close()

    blobs, chunks, records = _stored(county)
    assert blobs == {hashlib.sha256(jpeg).hexdigest(): jpeg}
    assert chunks == 0 and records == 2
