"""Photos from phone to server and back: their records sync like the records
they belong to, their bytes go after them, resumably, and are stored once.

Over the real app in-process (FlaskTransport), on SQLite and PostgreSQL;
tests/server/sync/test_photo_uploads.py cuts real connections.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from bench.samples import GPS_INFO, camera_photo, phone_photo
from server.accounts.services import create_account
from server.audit.models import AuditEntry
from server.audit.services import SYSTEM, Actor
from server.db import transaction
from server.inspections import services as inspections
from server.ledger.services import link_household
from server.photos.models import Photo, PhotoBlob, PhotoUploadChunk
from shared.protocol import MAX_PHOTO_BYTES, MAX_PHOTOS_PER_RECORD, MAX_UPLOAD_CHUNK
from shared.vocab import AccountRole
from sync.engine import SyncReport
from sync.lock import AppLock
from sync.phone import Phone
from tests.builders import LedgerBuilder
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import _HASH, PASSWORD, County

CHUNK_TYPE = "application/offset+octet-stream"


def _visit(phone: Phone, household_id: str) -> str:
    return phone.record_visit(household_id, roles=["policy"], topics=["屋顶修缮"], notes="入户")


def _blobs(county: County) -> dict[str, int]:
    with county.session() as session:
        rows = session.execute(select(PhotoBlob.sha256, PhotoBlob.size))
        return {sha: size for sha, size in rows}


def _chunks(county: County) -> int:
    with county.session() as session:
        return session.scalar(select(func.count()).select_from(PhotoUploadChunk)) or 0


def _auth(phone: Phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.engine.token}"}


def _patch(
    client: FlaskClient,
    phone: Phone,
    sha256: str,
    offset: int,
    body: bytes,
    length: int | None = None,
    content_type: str = CHUNK_TYPE,
) -> Any:
    return client.patch(
        f"/api/v1/photos/{sha256}",
        data=body,
        headers={
            **_auth(phone),
            "Content-Type": content_type,
            "Upload-Offset": str(offset),
            "Upload-Length": str(len(body) + offset if length is None else length),
        },
    )


def _head(client: FlaskClient, phone: Phone, sha256: str) -> Any:
    return client.head(f"/api/v1/photos/{sha256}", headers=_auth(phone))


def _push_photo_record(
    phone: Phone, data: bytes, record_id: str, household_id: str, kind: str = "visit"
) -> dict[str, Any]:
    """Push a photo record naming ``data`` as a phone that checks nothing
    would (the phone's own attach_photo takes JPEGs only); the push's result."""
    record = {
        "id": str(uuid.uuid4()),
        "household_id": household_id,
        "record_kind": kind,
        "record_id": record_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "width": 640,
        "height": 480,
        "content_type": "image/jpeg",
    }
    change = {
        "change_id": str(uuid.uuid4()),
        "kind": "photo",
        "op": "create",
        "stamp": str(phone.clock.now()),
        "record": record,
    }
    answer = phone.transport.push(phone.engine.token, phone.clock.physical_ms(), [change])
    result: dict[str, Any] = answer["results"][0]
    return result


def _phone_with_a_visit(county: County, transport: FlaskTransport) -> tuple[Phone, str, str]:
    """The first cadre's phone, synced with a visit to their first household:
    the phone, the household and the visit."""
    cadre = county.cadres[0]
    household_id = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    visit_id = _visit(phone, household_id)
    assert phone.sync().ok
    return phone, household_id, visit_id


def _thumbnail_on_server(county: County, sha256: str) -> bytes:
    with county.session() as session:
        found = session.scalar(select(PhotoBlob.thumbnail).where(PhotoBlob.sha256 == sha256))
        assert found is not None
        return bytes(found)


def test_a_photo_goes_up_after_its_visit_and_the_cadres_other_phone_gets_it_lazily(
    county: County, transport: FlaskTransport
) -> None:
    cadre = county.cadres[0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    visit_id = _visit(phone, county.households[cadre][0])
    jpeg = phone_photo(1)
    photo_id = phone.attach_photo("visit", visit_id, jpeg)
    sha256 = hashlib.sha256(jpeg).hexdigest()
    assert phone.photos_to_send() == (1, len(jpeg))
    assert [p["id"] for p in phone.photos("visit", visit_id)] == [photo_id]
    assert phone.photo_data(sha256) == jpeg
    assert max(Image.open(io.BytesIO(phone.photo_thumbnail(sha256) or b"")).size) == 160

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
    assert other.photo_thumbnail(sha256) == _thumbnail_on_server(county, sha256)
    assert other.photo_data(sha256) is None  # full size on demand only
    assert other.fetch_photo(sha256) == jpeg
    assert other.photo_data(sha256) == jpeg
    assert other.photos_to_send() == (0, 0)
    assert other.sync().thumbnails_fetched == 0

    phone.delete("photo", photo_id)
    assert phone.sync().applied == 1
    assert other.sync().ok and other.photos("visit", visit_id) == []
    assert other.store.photo_file(sha256) is None and other.photo_thumbnail(sha256) is None
    answer = county.app.test_client().get(f"/api/v1/photos/{sha256}", headers=_auth(other))
    assert answer.status_code == 404


def test_the_same_photo_from_two_phones_is_stored_once_and_sent_once(
    county: County, transport: FlaskTransport
) -> None:
    jpeg = phone_photo(2)
    phones = []
    for cadre in county.cadres:
        phone = county.phone(cadre, transport)
        assert phone.sync().ok
        phone.attach_photo("visit", _visit(phone, county.households[cadre][0]), jpeg)
        phones.append(phone)
    first, second = (phone.sync() for phone in phones)
    assert first.photo_bytes_sent == len(jpeg) and first.photos_sent == 1
    # The server held them already: the second phone sends none of the bytes.
    assert second.photo_bytes_sent == 0 and second.photos_sent == 1
    assert _blobs(county) == {hashlib.sha256(jpeg).hexdigest(): len(jpeg)}
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Photo)) == 2


def test_bad_uploads_get_a_clear_4xx_and_leave_nothing_stored(
    county: County, transport: FlaskTransport
) -> None:
    client = county.app.test_client()
    phone, household_id, visit_id = _phone_with_a_visit(county, transport)
    good = phone_photo(3)
    sha = hashlib.sha256(good).hexdigest()

    # No record names these bytes yet: the record goes first.
    answer = _patch(client, phone, sha, 0, good[:1000], len(good))
    assert answer.status_code == 404 and "sync the record" in answer.json["message"]
    assert _head(client, phone, sha).status_code == 404
    assert client.get(f"/api/v1/photos/{sha}", headers=_auth(phone)).status_code == 404
    assert _push_photo_record(phone, good, visit_id, household_id)["status"] == "applied"

    answer = _patch(client, phone, sha, 0, good[:1000], 50 * 1024 * 1024)
    assert (
        answer.status_code == 413
        and str(MAX_PHOTO_BYTES // (1024 * 1024)) in answer.json["message"]
    )
    answer = _patch(client, phone, sha, 0, b"x" * (MAX_UPLOAD_CHUNK + 1), len(good))
    assert answer.status_code == 413 and "chunk" in answer.json["message"]
    answer = _patch(client, phone, sha, 0, good[:1000], len(good), "image/jpeg")
    assert answer.status_code == 415
    answer = _patch(client, phone, sha, 0, good[:1000], len(good) + 1)
    assert answer.status_code == 400 and str(len(good)) in answer.json["message"]
    answer = client.patch(
        f"/api/v1/photos/{sha}",
        data=good[:1000],
        headers={**_auth(phone), "Content-Type": CHUNK_TYPE, "Upload-Length": str(len(good))},
    )
    assert answer.status_code == 400 and "Upload-Offset" in answer.json["message"]
    answer = _patch(client, phone, sha, 500, good[:1000], len(good))
    assert answer.status_code == 409 and answer.headers["Upload-Offset"] == "0"
    assert _blobs(county) == {} and _chunks(county) == 0

    # Cut after a first chunk, then completed with other bytes: refused, dropped.
    answer = _patch(client, phone, sha, 0, good[:50_000], len(good))
    assert answer.status_code == 204 and answer.headers["Upload-Offset"] == "50000"
    assert _head(client, phone, sha).headers["Upload-Offset"] == "50000"
    wrong = bytes(reversed(good[50_000:]))
    answer = _patch(client, phone, sha, 50_000, wrong, len(good))
    assert answer.status_code == 422 and "SHA-256" in answer.json["message"]
    assert _head(client, phone, sha).headers["Upload-Offset"] == "0"
    assert _blobs(county) == {} and _chunks(county) == 0

    # Bytes that hash right but are no JPEG: a PDF, a PNG.
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(png, "PNG")
    for other in (b"%PDF-1.4 not a photo" * 100, png.getvalue()):
        other_sha = hashlib.sha256(other).hexdigest()
        assert _push_photo_record(phone, other, visit_id, household_id)["status"] == "applied"
        answer = _patch(client, phone, other_sha, 0, other)
        assert answer.status_code == 415 and "JPEG" in answer.json["message"]
        assert _blobs(county) == {} and _chunks(county) == 0

    half = len(good) // 2
    answer = _patch(client, phone, sha, 0, good[:half], len(good))
    assert answer.status_code == 204
    answer = _patch(client, phone, sha, half, good[half:], len(good))
    assert answer.status_code == 204 and answer.headers["Upload-Offset"] == str(len(good))
    # Sent again: answered complete, stored once.
    answer = _patch(client, phone, sha, 0, good[:1000], len(good))
    assert answer.status_code == 204 and answer.headers["Upload-Offset"] == str(len(good))
    assert _head(client, phone, sha).headers["Upload-Offset"] == str(len(good))
    assert _blobs(county) == {sha: len(good)} and _chunks(county) == 0


def test_a_photos_exif_location_is_stripped_and_its_bytes_are_served_immutable(
    county: County, transport: FlaskTransport
) -> None:
    client = county.app.test_client()
    phone, household_id, visit_id = _phone_with_a_visit(county, transport)
    located = camera_photo(4, (800, 600), gps=(23.7012, 117.4231))
    assert Image.open(io.BytesIO(located)).getexif().get_ifd(GPS_INFO)
    sha = hashlib.sha256(located).hexdigest()
    assert _push_photo_record(phone, located, visit_id, household_id)["status"] == "applied"
    assert _patch(client, phone, sha, 0, located).status_code == 204

    answer = client.get(f"/api/v1/photos/{sha}", headers=_auth(phone))
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    served = Image.open(io.BytesIO(answer.data))
    assert served.size == (800, 600)
    assert not served.getexif() and b"Exif" not in answer.data
    # Lossless: the same pixels as the camera's.
    assert served.tobytes() == Image.open(io.BytesIO(located)).tobytes()
    assert "immutable" in answer.headers["Cache-Control"]
    again = client.get(
        f"/api/v1/photos/{sha}",
        headers={**_auth(phone), "If-None-Match": answer.headers["ETag"]},
    )
    assert again.status_code == 304 and not again.data
    thumbnail = client.get(f"/api/v1/photos/{sha}/thumbnail", headers=_auth(phone))
    assert thumbnail.status_code == 200
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) == 160


def _cadre_elsewhere(county: County, username: str) -> str:
    """A cadre of another town with a household there; their username."""
    with transaction(county.app.extensions["minqing.db"]) as session:
        ledger = LedgerBuilder(session)
        town = ledger.town("康美镇")
        grid = ledger.grid(ledger.village("康美村", town))
        cadre = ledger.cadre("林光荣的干部")
        create_account(
            session, SYSTEM, username=username, password=PASSWORD,
            role=AccountRole.CADRE, cadre=cadre, password_hash=_HASH,
        )  # fmt: skip
        link_household(session, SYSTEM, ledger.household(grid, head_name="林光荣"), cadre)
    return username


def _inspector(county: County, username: str, assigned: list[str]) -> str:
    with transaction(county.app.extensions["minqing.db"]) as session:
        inspector = create_account(
            session, SYSTEM, username=username, password=PASSWORD,
            role=AccountRole.INSPECTOR, display_name="县效能办", password_hash=_HASH,
        )  # fmt: skip
        admin = Actor(account_id=county.admin_account(session).id)
        inspections.assign(session, admin, inspector, [uuid.UUID(h) for h in assigned], draw=2015)
    return username


# Who reaches a photo's bytes over the phone API, route by route: one letter
# per phone in PHOTO_READERS' order, A answered with them, H hidden (404, as
# if there were no such photo). The photo is of a visit to the cadre's household.
PHOTO_READERS = (
    "the cadre's phone",
    "the cadre's other phone",
    "an inspector assigned the household",
    "a cadre of the same village",
    "a cadre of another town",
    "an inspector assigned another household",
)
PHOTO_ACCESS = {
    ("HEAD", "/api/v1/photos/{sha256}"): "AAAHHH",
    ("GET", "/api/v1/photos/{sha256}"): "AAAHHH",
    ("GET", "/api/v1/photos/{sha256}/thumbnail"): "AAAHHH",
}


def test_a_photo_reaches_the_inspector_assigned_its_household_and_no_phone_outside_its_scope(
    county: County, transport: FlaskTransport
) -> None:
    client = county.app.test_client()
    cadre, neighbour = county.cadres
    household_id = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    jpeg = phone_photo(5)
    sha = hashlib.sha256(jpeg).hexdigest()
    phone.attach_photo("visit", _visit(phone, household_id), jpeg)
    assert phone.sync().photos_sent == 1

    inspector = county.phone(_inspector(county, "inspector-1", [household_id]), transport)
    readers = [
        phone,
        county.phone(cadre, transport, name="second"),
        inspector,
        county.phone(neighbour, transport),
        county.phone(_cadre_elsewhere(county, "13905960077"), transport),
        county.phone(
            _inspector(county, "inspector-2", [county.households[neighbour][0]]), transport
        ),
    ]
    for reader in readers:
        assert reader.sync().ok
    # The pull brings the photo's record (and its thumbnail) to those who may see it.
    assert [bool(reader.store.records("photo")) for reader in readers] == [
        True, True, True, False, False, False,
    ]  # fmt: skip
    assert inspector.fetch_photo(sha) == jpeg
    for (method, route), allowed in PHOTO_ACCESS.items():
        for reader, letter, who in zip(readers, allowed, PHOTO_READERS, strict=True):
            answer = client.open(route.format(sha256=sha), method=method, headers=_auth(reader))
            if letter == "A":
                assert answer.status_code == 200, (method, route, who)
                assert method == "HEAD" or answer.data.startswith(b"\xff\xd8"), (route, who)
            else:
                assert answer.status_code == 404, (method, route, who)
                assert not answer.data.startswith(b"\xff\xd8"), (route, who)
    # Nor can a phone outside the household's scope add bytes to the photo.
    for reader, who in zip(readers[3:], PHOTO_READERS[3:], strict=True):
        assert _patch(client, reader, sha, 0, jpeg).status_code == 404, who


def test_a_records_photos_are_limited_checked_against_their_record_and_deleted_by_their_author(
    county: County, transport: FlaskTransport
) -> None:
    cadre, neighbour = county.cadres
    household_id, second_household = county.households[cadre][:2]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    visit_id = phone.record_visit(
        household_id, issues=[{"category": "infrastructure", "description": "水渠堵塞"}]
    )
    (issue,) = phone.issues(household_id)
    event_id = phone.follow_up(issue["id"], note="已报镇里")
    ids = [phone.attach_photo("visit", visit_id, phone_photo(10 + n)) for n in range(5)]
    with pytest.raises(ValueError, match=str(MAX_PHOTOS_PER_RECORD)):
        phone.attach_photo("visit", visit_id, phone_photo(20))
    phone.attach_photo("issue", issue["id"], phone_photo(21))
    phone.attach_photo("issue_event", event_id, phone_photo(22))
    report = phone.sync()
    assert report.ok and not report.rejected and report.photos_sent == 7, report

    # What the phone would not send, the server refuses too.
    sixth = _push_photo_record(phone, phone_photo(23), visit_id, household_id)
    assert sixth["status"] == "rejected" and str(MAX_PHOTOS_PER_RECORD) in sixth["message"]
    elsewhere = _push_photo_record(phone, phone_photo(24), visit_id, second_household)
    assert elsewhere["status"] == "rejected" and "sync that record first" in elsewhere["message"]
    unknown = _push_photo_record(phone, phone_photo(25), str(uuid.uuid4()), household_id)
    assert unknown["status"] == "rejected"

    stranger = county.phone(neighbour, transport)
    assert stranger.sync().ok
    refused = stranger.transport.push(
        stranger.engine.token,
        stranger.clock.physical_ms(),
        [
            {
                "change_id": str(uuid.uuid4()),
                "kind": "photo",
                "op": "delete",
                "stamp": str(stranger.clock.now()),
                "record": {"id": ids[0]},
            }
        ],
    )
    assert refused["results"][0]["status"] == "rejected"

    phone.delete("photo", ids[0])
    assert phone.sync().applied == 1
    assert len(phone.photos("visit", visit_id)) == 4
    with county.session() as session:
        deleted = session.get(Photo, uuid.UUID(ids[0]))
        assert deleted is not None and deleted.deleted_at is not None
    # A tombstone makes room for another.
    phone.attach_photo("visit", visit_id, phone_photo(26))
    assert phone.sync().photos_sent == 1


def test_a_photo_the_server_refuses_is_marked_on_the_phone_with_the_servers_reason(
    county: County, transport: FlaskTransport
) -> None:
    cadre = county.cadres[0]
    household_id = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    visit_id = _visit(phone, household_id)
    for seed in range(3):
        phone.attach_photo("visit", visit_id, phone_photo(30 + seed))
    assert phone.sync().photos_sent == 3
    # The cadre's other phone adds two to the visit while this one adds two more.
    second = county.phone(cadre, transport, name="second")
    assert second.sync().ok
    late = [second.attach_photo("visit", visit_id, phone_photo(33 + n)) for n in range(2)]
    for seed in range(2):
        phone.attach_photo("visit", visit_id, phone_photo(35 + seed))
    damaged = phone_photo(37)
    phone.attach_photo("visit", _visit(phone, household_id), damaged)
    # The bytes kept on the phone no longer match the hash its record names.
    phone.store.save_photo_bytes(
        hashlib.sha256(damaged).hexdigest(), data=damaged[: len(damaged) // 2] * 2
    )
    report = phone.sync()
    assert report.ok and report.photos_sent == 2
    (refused_bytes,) = report.photos_rejected
    assert "SHA-256" in refused_bytes["message"]

    report = second.sync()
    assert report.ok and len(report.rejected) == 2 and report.photos_sent == 0
    rejected = {row["sha256"]: row["message"] for row in second.store.photos_in_state("rejected")}
    for photo_id in late:
        record = second.store.record("photo", photo_id)
        assert record is not None
        assert str(MAX_PHOTOS_PER_RECORD) in rejected[record["sha256"]]
    assert second.photos_to_send() == (0, 0) and phone.photos_to_send() == (0, 0)
    assert len(_blobs(county)) == 5 and _chunks(county) == 0


def test_a_photos_bytes_on_an_encrypted_phone_are_sealed(
    county: County, transport: FlaskTransport, tmp_path: Path
) -> None:
    cadre = county.cadres[0]
    phone = county.phone(cadre, transport)
    AppLock(phone.store).remember_password(PASSWORD)
    assert phone.sync().ok
    jpeg = phone_photo(40)
    visit_id = _visit(phone, county.households[cadre][0])
    phone.attach_photo("visit", visit_id, jpeg)
    assert phone.sync().photos_sent == 1
    sha = hashlib.sha256(jpeg).hexdigest()
    assert phone.photo_data(sha) == jpeg
    thumbnail = phone.photo_thumbnail(sha) or b""
    stored = b"".join(
        Path(phone.store.path + suffix).read_bytes()
        for suffix in ("", "-wal")
        if Path(phone.store.path + suffix).exists()
    )
    for plain in (jpeg[1000:1064], jpeg[-64:], thumbnail[200:264]):
        assert plain not in stored
    phone.store.lock()
    with pytest.raises(Exception, match="unlock"):
        phone.photo_data(sha)


def test_a_push_of_photo_records_alone_still_answers_every_change(
    county: County, transport: FlaskTransport
) -> None:
    """A photo's record sent before its visit (another batch, another order) is
    refused with a reason and the visit applies; sent again after, it applies."""
    cadre = county.cadres[0]
    household_id = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    visit_id = _visit(phone, household_id)
    result = _push_photo_record(phone, phone_photo(50), visit_id, household_id)
    assert result["status"] == "rejected"
    report = SyncReport()
    phone.engine.push(report)
    assert report.applied == 1
    assert _push_photo_record(phone, phone_photo(50), visit_id, household_id)["status"] == "applied"


def test_a_photo_of_a_household_reassigned_before_its_sync_still_goes_up_then_leaves_the_phone(
    county: County, transport: FlaskTransport
) -> None:
    cadre, other = county.cadres
    household_id = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    jpeg = phone_photo(60)
    phone.attach_photo("visit", _visit(phone, household_id), jpeg)
    # Reassigned while the phone was offline: its visit is within the grace.
    county.reassign(household_id, other)
    report = phone.sync()
    assert report.ok and report.applied == 2 and report.photos_sent == 1, report
    assert _blobs(county) == {hashlib.sha256(jpeg).hexdigest(): len(jpeg)}
    assert report.kept_until_pushed == [household_id]
    report = phone.sync()
    assert report.evicted == 1 and phone.household(household_id) is None
    assert phone.store.photo_file(hashlib.sha256(jpeg).hexdigest()) is None
