"""The photos API: a photo's bytes, uploaded resumably and fetched by hash.

``HEAD`` says how much of an upload the server holds, ``PATCH`` appends a
chunk (as tus does, over plain HTTP), ``GET`` gives the bytes or their
thumbnail. Device tokens as for sync; docs/sync.md describes the exchange.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import abort

from server.accounts.auth import current_device
from server.api import Blueprint
from server.db import db
from server.photos import uploads
from server.photos.queries import photo_etag
from shared.protocol import MAX_PHOTO_BYTES, MAX_UPLOAD_CHUNK

blp = Blueprint(
    "photos",
    __name__,
    url_prefix="/api/v1/photos",
    description="Photos' bytes: resumable uploads (tus-like) and downloads, by SHA-256",
)

# What a chunk's body is, as tus names it.
CHUNK_TYPE = "application/offset+octet-stream"
# The bytes of a hash never change: a phone or browser keeps them.
IMMUTABLE = "private, max-age=31536000, immutable"

OFFSET_HEADER = {
    "Upload-Offset": {
        "description": "Bytes of the photo the server holds (its size once stored whole)",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _header(name: str) -> int:
    """A required non-negative integer header; 400 if missing or not one."""
    value = request.headers.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        abort(400, message=f"须给出 {name}（非负整数）/ {name} must be given, a whole number ≥ 0")
    return int(value)


def _refused(refused: uploads.Refused) -> Any:
    """Answer a refusal; what was done before it (dropped chunks) is committed."""
    db.session.commit()
    headers = {} if refused.offset is None else {"Upload-Offset": str(refused.offset)}
    abort(refused.status, message=str(refused), headers=headers)


# A name that is no lowercase hex SHA-256 matches no photo record: 404.
@blp.route("/<string(length=64):sha256>")
class PhotoBytes(MethodView):
    @blp.device_required
    @blp.response(200, headers=OFFSET_HEADER, description="How much of the photo is held")
    @blp.error(404, "No live photo record in the device's scope names these bytes")
    @blp.error(410, "The phone was reported lost")
    def head(self, sha256: str) -> Response:
        """How many bytes of the photo the server holds (``Upload-Offset``):
        resume an upload from there; equal to its size once stored."""
        try:
            size = uploads.size_in_scope(db.session, current_device(), sha256)
        except uploads.Refused as refused:
            return _refused(refused)
        held = uploads.offset(db.session, sha256)
        return Response(
            status=200,
            headers={
                "Upload-Offset": str(held),
                "Upload-Length": str(size),
                "Cache-Control": "no-store",
            },
        )

    @blp.device_required
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Upload-Offset",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "in": "header",
                "name": "Upload-Length",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PHOTO_BYTES},
            },
        ],
        requestBody={
            "required": True,
            # A longer one is answered 413 (so not refused by the schema: 4xx for that is 400).
            "description": f"A chunk of the photo's bytes, at most {MAX_UPLOAD_CHUNK} bytes",
            "content": {CHUNK_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    )
    @blp.response(204, headers=OFFSET_HEADER, description="Chunk stored (or photo complete)")
    @blp.error(400, "Upload-Offset or Upload-Length missing, or not the photo's size")
    @blp.error(404, "No live photo record in the device's scope names these bytes")
    @blp.error(409, "Upload-Offset is not what the server holds (see its Upload-Offset)")
    @blp.error(410, "The phone was reported lost")
    @blp.error(411, "No Content-Length")
    @blp.error(413, "Upload-Length over the photo limit, or the chunk over the chunk limit")
    @blp.error(415, "Not application/offset+octet-stream, or the whole upload is not a JPEG")
    @blp.error(422, "The whole upload does not hash to its SHA-256: its chunks were dropped")
    def patch(self, sha256: str) -> Response:
        """Append a chunk at ``Upload-Offset`` of the photo's ``Upload-Length``
        bytes; the last one completes it (checked, stored once, chunks gone)."""
        upload_length = _header("Upload-Length")
        at = _header("Upload-Offset")
        if request.content_length is None:
            abort(411, message="须给出 Content-Length / Content-Length is required")
        try:
            uploads.check_lengths(upload_length, request.content_length)
        except uploads.Refused as refused:
            return _refused(refused)
        if request.mimetype != CHUNK_TYPE:
            abort(415, message=f"内容类型须为 {CHUNK_TYPE} / the body must be {CHUNK_TYPE}")
        try:
            held = uploads.append(
                db.session, current_device(), sha256, at, upload_length, request.get_data()
            )
        except uploads.Refused as refused:
            return _refused(refused)
        return Response(status=204, headers={"Upload-Offset": str(held)})

    @blp.device_required
    @blp.response(
        200, description="The photo's JPEG bytes, metadata stripped", content_type="image/jpeg"
    )
    @blp.alt_response(304, description="Not modified: the ETag given in If-None-Match")
    @blp.error(404, "Not in the device's scope, or not uploaded yet")
    @blp.error(410, "The phone was reported lost")
    def get(self, sha256: str) -> Response:
        """The photo's bytes (its metadata segments dropped)."""
        return _bytes(sha256, thumbnail=False)


@blp.route("/<string(length=64):sha256>/thumbnail")
class PhotoThumbnail(MethodView):
    @blp.device_required
    @blp.response(200, description="A small JPEG of the photo", content_type="image/jpeg")
    @blp.alt_response(304, description="Not modified: the ETag given in If-None-Match")
    @blp.error(404, "Not in the device's scope, or not uploaded yet")
    @blp.error(410, "The phone was reported lost")
    def get(self, sha256: str) -> Response:
        """The photo's thumbnail."""
        return _bytes(sha256, thumbnail=True)


def _bytes(sha256: str, *, thumbnail: bool) -> Response:
    try:
        data = uploads.stored(db.session, current_device(), sha256, thumbnail=thumbnail)
    except uploads.Refused as refused:
        return _refused(refused)
    etag = photo_etag(sha256, thumbnail=thumbnail)
    fresh = etag in request.if_none_match
    response = Response(
        b"" if fresh else data,
        status=304 if fresh else 200,
        mimetype="image/jpeg",
        headers={"Cache-Control": IMMUTABLE},
    )
    response.set_etag(etag)
    return response
