"""A photo's bytes: uploaded resumably in chunks, stored once by content hash.

Like tus (tus.io), over plain HTTP: the phone asks how much the server holds
(``offset``) and sends the rest chunk by chunk (``append``), each chunk
committed on its own, so a cut connection costs at most the chunk it cut.
The last chunk completes the upload in the same transaction: the bytes must
hash to the name they were sent under and be a JPEG Pillow can decode; their
metadata segments are dropped, a thumbnail made, the blob stored and the
chunks deleted. A device may send or fetch only bytes that a live photo
record in its scope names (server/sync/scope.py): the record goes first.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Device
from server.db import upsert
from server.photos.models import Photo, PhotoBlob, PhotoUploadChunk
from server.photos.queries import photo_bytes
from server.sync.scope import SyncRefused, listed, reach
from shared.images import NotAPhoto, inspect_jpeg, strip_metadata, thumbnail
from shared.protocol import MAX_PHOTO_BYTES, MAX_UPLOAD_CHUNK, PHOTO_CONTENT_TYPE


class Refused(Exception):
    """The request is refused with ``status``; ``offset``, when given, is what
    the server holds (answered as Upload-Offset)."""

    def __init__(self, status: int, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.offset = offset


NOT_IN_SCOPE = (
    "没有该照片，或它不属于您的农户；请先同步照片所属的记录"
    " / no such photo, or not of your households: sync the record it belongs to first"
)

# The size the live photo records a device may see give these bytes: those
# of its scope's households, and its own (a household reassigned after its
# visit keeps the visit's photo on the phone until its bytes are up).
SIZE_IN_SCOPE = (
    select(Photo.size)
    .where(
        Photo.sha256 == bindparam("sha256"),
        or_(Photo.household_id.in_(listed("households")), Photo.device_id == bindparam("device")),
        Photo.deleted_at.is_(None),
    )
    .limit(1)
)
HELD = select(func.coalesce(func.sum(func.length(PhotoUploadChunk.data)), 0)).where(
    PhotoUploadChunk.sha256 == bindparam("sha256")
)
STORED_SIZE = select(PhotoBlob.size).where(PhotoBlob.sha256 == bindparam("sha256"))
CHUNKS = (
    select(PhotoUploadChunk.data)
    .where(PhotoUploadChunk.sha256 == bindparam("sha256"))
    .order_by(PhotoUploadChunk.offset)
)
DROP_CHUNKS = delete(PhotoUploadChunk).where(PhotoUploadChunk.sha256 == bindparam("sha256"))


def size_in_scope(session: Session, device: Device, sha256: str) -> int:
    """The size of the photo ``sha256`` names, if a live photo record the
    device may see names it; Refused (404) otherwise, 410 for a lost phone."""
    if device.lost_at is not None:
        raise Refused(
            410, "此手机已挂失：请清除本机数据 / this phone was reported lost: erase its data"
        )
    try:
        households = reach(session, device.account).households
    except SyncRefused as refused:
        raise Refused(refused.status, str(refused)) from None
    size = session.scalar(
        SIZE_IN_SCOPE, {"sha256": sha256, "households": list(households), "device": device.id}
    )
    if size is None:
        raise Refused(404, NOT_IN_SCOPE)
    return size


def offset(session: Session, sha256: str) -> int:
    """How many bytes of ``sha256`` the server holds: all of them once stored."""
    stored = session.scalar(STORED_SIZE, {"sha256": sha256})
    if stored is not None:
        return stored
    return int(session.scalar(HELD, {"sha256": sha256}) or 0)


def check_lengths(upload_length: int, chunk_length: int) -> None:
    """Refuse, before its body is read, an upload or chunk beyond the limits."""
    if upload_length > MAX_PHOTO_BYTES:
        raise Refused(
            413,
            f"照片超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB，请在手机上缩小后再发"
            f" / the photo is over {MAX_PHOTO_BYTES // (1024 * 1024)} MB: downscale it on the phone",
        )
    if chunk_length > MAX_UPLOAD_CHUNK:
        raise Refused(
            413,
            f"每段最多 {MAX_UPLOAD_CHUNK // 1024} KB / a chunk is at most {MAX_UPLOAD_CHUNK // 1024} KB",
        )


def append(
    session: Session, device: Device, sha256: str, at: int, upload_length: int, body: bytes
) -> int:
    """Add ``body`` at offset ``at`` of the upload of ``sha256`` (``upload_length``
    bytes in all); the offset now held. The last chunk completes the upload.

    Bytes already stored answer complete, whatever was sent. Nothing is
    committed here: the edge commits, refusals included (a refused
    completion drops the upload's chunks, so the phone starts again clean).
    """
    size = size_in_scope(session, device, sha256)
    if upload_length != size:
        raise Refused(
            400,
            f"Upload-Length 应为照片记录中的大小 {size} / Upload-Length must be the photo's size, {size}",
        )
    complete = session.scalar(STORED_SIZE, {"sha256": sha256})
    if complete is not None:
        return int(complete)
    held = int(session.scalar(HELD, {"sha256": sha256}) or 0)
    if at != held:
        raise Refused(
            409,
            f"偏移量应为 {held}，请从该处继续 / the offset should be {held}: resume from there",
            held,
        )
    end = at + len(body)
    if end > upload_length:
        raise Refused(400, "数据超出 Upload-Length / the chunk goes beyond Upload-Length", held)
    if end < upload_length:
        if body:
            session.add(PhotoUploadChunk(sha256=sha256, offset=at, data=body, device_id=device.id))
        return end
    _complete(session, sha256, b"".join(session.scalars(CHUNKS, {"sha256": sha256})) + body)
    return end


def _complete(session: Session, sha256: str, data: bytes) -> None:
    """Check and store the whole upload, and drop its chunks."""
    session.execute(DROP_CHUNKS, {"sha256": sha256})
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Refused(
            422,
            "照片数据与其 SHA-256 不符，已丢弃，请重新上传"
            " / the bytes do not match their SHA-256: dropped, upload them again",
            0,
        )
    store_bytes(session, sha256, data)


def store_bytes(session: Session, sha256: str, data: bytes) -> None:
    """Store a whole photo's bytes without their metadata, and its thumbnail;
    Refused (415) if they are not a JPEG."""
    try:
        width, height = inspect_jpeg(data)
        cleaned = strip_metadata(data)
        small = thumbnail(cleaned)
    except NotAPhoto as refused:
        raise Refused(
            415, f"照片须为 JPEG 图片 / a photo must be a JPEG image: {refused}", 0
        ) from None
    # The same bytes completed at once by another phone: stored once.
    session.execute(
        upsert(session, PhotoBlob)
        .values(
            sha256=sha256,
            content_type=PHOTO_CONTENT_TYPE,
            size=len(data),
            width=width,
            height=height,
            data=cleaned,
            thumbnail=small,
        )
        .on_conflict_do_nothing()
    )


def stored(session: Session, device: Device, sha256: str, *, thumbnail: bool) -> bytes:
    """The stored bytes (or thumbnail) of a photo in the device's scope;
    Refused (404) if out of scope or not uploaded yet."""
    size_in_scope(session, device, sha256)
    found = photo_bytes(session, sha256, thumbnail=thumbnail)
    if found is None:
        raise Refused(
            404,
            "照片尚未上传完成，请稍后再取 / the photo has not been uploaded yet: try again later",
        )
    return bytes(found)
