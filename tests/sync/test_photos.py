"""Photos from phone to server and back: their records sync like the records
they belong to, their bytes go after them, resumably, and are stored once.

Over the real app in-process (FlaskTransport), on SQLite and PostgreSQL;
tests/sync/test_photo_uploads.py cuts real connections.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from bench.samples import phone_photo
from server.audit.models import AuditEntry
from server.photos.models import Photo, PhotoBlob, PhotoUploadChunk
from sync.engine import SyncReport
from sync.phone import Phone
from tests.sync.transport import FlaskTransport
from tests.sync.world import County

CHUNK_TYPE = "application/offset+octet-stream"


def _visit(phone: Phone, household_id: str) -> str:
    return phone.record_visit(household_id, roles=["policy"], topics=["屋顶修缮"], notes="入户")


def _token(phone: Phone) -> str:
    return phone.engine.token


def _blobs(county: County) -> dict[str, int]:
    with county.session() as session:
        return {
            sha: size for sha, size in session.execute(select(PhotoBlob.sha256, PhotoBlob.size))
        }


def _chunks(county: County) -> int:
    with county.session() as session:
        return session.scalar(select(func.count()).select_from(PhotoUploadChunk)) or 0


def _patch(
    client: FlaskClient,
    token: str,
    sha256: str,
    offset: int,
    length: int,
    body: bytes,
    content_type: str = CHUNK_TYPE,
) -> Any:
    return client.patch(
        f"/api/v1/photos/{sha256}",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Upload-Offset": str(offset),
            "Upload-Length": str(length),
        },
    )


def _photo_record(phone: Phone, jpeg: bytes) -> tuple[str, str]:
    """A visit with a photo of ``jpeg``, pushed (its bytes not sent): its sha256 and id."""
    household_id = phone.households()[0]["id"]
    photo_id = phone.attach_photo("visit", _visit(phone, household_id), jpeg)
    report = SyncReport()
    phone.engine.push(report)
    assert report.applied == 2, report
    return hashlib.sha256(jpeg).hexdigest(), photo_id


def test_a_photo_goes_up_after_its_visit_and_the_cadres_other_phone_gets_it_lazily(
    county: County, transport: FlaskTransport, tmp_path: Path
) -> None:
    cadre = county.cadres[0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    household_id = county.households[cadre][0]
    visit_id = _visit(phone, household_id)
    jpeg = phone_photo(1)
    photo_id = phone.attach_photo("visit", visit_id, jpeg)
    sha256 = hashlib.sha256(jpeg).hexdigest()
    assert phone.photos_to_send() == (1, len(jpeg))
    assert [p["id"] for p in phone.photos("visit", visit_id)] == [photo_id]
    assert phone.photo_data(sha256) == jpeg
    assert Image.open(io.BytesIO(phone.photo_thumbnail(sha256) or b"")).size[0] <= 160

    report = phone.sync()
    assert report.ok and report.photos_sent == 1 and report.photo_bytes_sent == len(jpeg), report
    assert phone.photos_to_send() == (0, 0)
    assert _blobs(county) == {sha256: len(jpeg)}
    assert _chunks(county) == 0
    with county.session() as session:
        photo = session.get(Photo, uuid.UUID(photo_id))
        assert photo is not None and photo.record_id == uuid.UUID(visit_id)
        assert photo.cadre_id is not None and photo.size == len(jpeg)
        assert session.scalar(
            select(func.count()).where(
                AuditEntry.entity == "photo", AuditEntry.entity_id == photo.id
            )
        )

    other = county.phone(cadre, transport, name="second")
    report = other.sync()
    assert report.ok and report.thumbnails_fetched == 1, report
    assert [p["sha256"] for p in other.photos("visit", visit_id)] == [sha256]
    assert other.photo_thumbnail(sha256) == phone_thumbnail_of(county, sha256)
    assert other.photo_data(sha256) is None  # full size on demand only
    assert other.fetch_photo(sha256) == jpeg
    assert other.photo_data(sha256) == jpeg
    assert other.photos_to_send() == (0, 0)


def phone_thumbnail_of(county: County, sha256: str) -> bytes:
    with county.session() as session:
        return bytes(session.scalar(select(PhotoBlob.thumbnail).where(PhotoBlob.sha256 == sha256)))
