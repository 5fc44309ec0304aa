"""The demo's photos: a few of the home visits carry one, so the console has photos to show.

A small set of pictures is drawn once (Pillow, the same for every seed) and
shared by the visits that carry one, as the server stores a photo's bytes
once however many records name them. Which visits carry one follows from
their ids, so it is fixed by the seed and draws nothing from the
generator's random stream (the rest of the county stays as it was).
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from datetime import datetime
from functools import cache

from PIL import Image, ImageDraw

from server.demo.writer import Writer
from server.photos.models import Photo, PhotoBlob
from shared.images import thumbnail
from shared.protocol import PHOTO_CONTENT_TYPE

# One home visit in a hundred has a photo.
PHOTO_EVERY = 100
PICTURES = 12
SIZE = (640, 480)
# The photos' ids, made from their visits' ids.
NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4a7b-9d0e-5b2f7c4e8a10")


def _picture(rng: random.Random) -> bytes:
    """A house under a sky, in colours of its own: a few KB as a phone's JPEG."""
    width, height = SIZE
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    sky = (rng.randint(120, 200), rng.randint(170, 220), 240)
    for y in range(height * 3 // 5):
        shade = y * 60 // height
        draw.line([(0, y), (width, y)], fill=(sky[0] - shade, sky[1] - shade, sky[2] - shade))
    ground = (rng.randint(80, 140), rng.randint(110, 160), rng.randint(50, 90))
    draw.rectangle([0, height * 3 // 5, width, height], fill=ground)
    left = rng.randint(60, 300)
    wall = (rng.randint(190, 240), rng.randint(180, 230), rng.randint(160, 210))
    top = height * 3 // 5 - rng.randint(120, 190)
    draw.rectangle([left, top, left + 260, height * 3 // 5 + 40], fill=wall)
    roof = (rng.randint(120, 170), rng.randint(40, 80), rng.randint(30, 60))
    draw.polygon([(left - 30, top), (left + 130, top - 90), (left + 290, top)], fill=roof)
    draw.rectangle([left + 110, top + 80, left + 160, height * 3 // 5 + 40], fill=(90, 60, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=60, optimize=True)
    return out.getvalue()


@cache
def pictures() -> list[dict[str, object]]:
    """The shared pictures, as ``photo_blob`` rows."""
    rng = random.Random(2015)
    rows: list[dict[str, object]] = []
    for _ in range(PICTURES):
        data = _picture(rng)
        rows.append(
            {
                "sha256": hashlib.sha256(data).hexdigest(),
                "content_type": PHOTO_CONTENT_TYPE,
                "size": len(data),
                "width": SIZE[0],
                "height": SIZE[1],
                "data": data,
                "thumbnail": thumbnail(data),
            }
        )
    return rows


def write_pictures(writer: Writer, at: datetime) -> None:
    """The shared pictures' bytes, once for every county the demo makes, stored
    ``at`` (the same seed gives the same rows)."""
    for blob in pictures():
        writer.add(PhotoBlob, {**blob, "created_at": at})


class VisitPhotos:
    """Gives a share of home visits a photo of the pictures ``write_pictures`` wrote."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def visit(
        self,
        visit_id: uuid.UUID,
        household_id: uuid.UUID,
        cadre_id: uuid.UUID,
        recorded_at: datetime,
    ) -> None:
        if visit_id.int % PHOTO_EVERY:
            return
        blob = pictures()[visit_id.int // PHOTO_EVERY % PICTURES]
        self.writer.add(
            Photo,
            {
                "id": uuid.uuid5(NAMESPACE, str(visit_id)),
                "household_id": household_id,
                "record_kind": "visit",
                "record_id": visit_id,
                "sha256": blob["sha256"],
                "size": blob["size"],
                "width": blob["width"],
                "height": blob["height"],
                "content_type": PHOTO_CONTENT_TYPE,
                "cadre_id": cadre_id,
                "recorded_at": recorded_at,
                "stamp": None,
                "device_id": None,
                "deleted_at": None,
            },
        )
