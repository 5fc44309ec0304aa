"""Photos of visits, issues and follow-ups: their thumbnails and full images, by
the photo's id (so scope is checked on its record), and a village's as a download."""

from __future__ import annotations

import uuid

from flask import Response, abort, request

from server.accounts.scope import Capability
from server.console.access import photo_or_404, requires
from server.console.blueprint import bp
from server.console.views.jobs import job_route
from server.db import db
from server.photos.queries import photo_bytes, photo_etag
from shared.protocol import PHOTO_CONTENT_TYPE

# A photo's bytes never change (its id names one sha256), but whether the
# account may still see it can: a day in the browser's own cache only.
CACHE_SECONDS = 24 * 3600


def _image(photo_id: uuid.UUID, *, thumbnail: bool) -> Response:
    photo = photo_or_404(photo_id)
    etag = photo_etag(photo.sha256, thumbnail=thumbnail)
    if request.if_none_match.contains(etag):
        answer = Response(status=304)
    else:
        data = photo_bytes(db.session, photo.sha256, thumbnail=thumbnail)
        if data is None:
            abort(404)  # its bytes are still on the phone
        answer = Response(data, mimetype=PHOTO_CONTENT_TYPE)
    answer.set_etag(etag)
    answer.cache_control.private = True
    answer.cache_control.max_age = CACHE_SECONDS
    return answer


@bp.get("/photos/<uuid:photo_id>/thumbnail.jpg")
@requires(Capability.VIEW, Capability.RESPOND)
def photo_thumbnail(photo_id: uuid.UUID) -> Response:
    return _image(photo_id, thumbnail=True)


@bp.get("/photos/<uuid:photo_id>/photo.jpg")
@requires(Capability.VIEW, Capability.RESPOND)
def photo_full(photo_id: uuid.UUID) -> Response:
    return _image(photo_id, thumbnail=False)


# A village's photos for an inspection: prepared by the job worker.
job_route(
    "/ledger/villages/<uuid:village_id>/photos.zip",
    "village_photos",
    "village_photos",
    Capability.MANAGE,
    Capability.INSPECT,
)
