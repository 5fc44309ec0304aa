"""Photos' pixels: made small on the phone, checked and cleaned on the server.

Pure functions over bytes (Pillow), shared by the phone (``downscale``) and
the server (``inspect_jpeg``, ``strip_metadata``, ``thumbnail``).
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from shared.protocol import PHOTO_JPEG_QUALITY, PHOTO_LONG_EDGE, THUMBNAIL_LONG_EDGE

# A phone's camera makes ~12–50 megapixels; anything far beyond is no photo
# (and a decompression bomb to refuse before it is decoded).
MAX_PIXELS = 100_000_000


class NotAPhoto(ValueError):
    """The bytes are not a JPEG photo Pillow can read."""


def _opened(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise NotAPhoto(f"不是可读的图片 / not a readable image: {error}") from None
    if image.width * image.height > MAX_PIXELS:
        raise NotAPhoto("图片过大 / the image has too many pixels")
    return image


def _jpeg(image: Image.Image, long_edge: int, quality: int) -> bytes:
    """``image`` shrunk to ``long_edge`` (never enlarged), as a baseline JPEG
    with no metadata at all (no EXIF, no ICC profile, no comment)."""
    image = image.convert("RGB")
    image.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def downscale(
    image_bytes: bytes, long_edge: int = PHOTO_LONG_EDGE, quality: int = PHOTO_JPEG_QUALITY
) -> bytes:
    """A camera's photo (any format Pillow reads) as the JPEG a phone keeps
    and sends: turned upright as its EXIF says, then every bit of metadata
    dropped (the visit's own location lives in the visit's record)."""
    image = _opened(image_bytes)
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError) as error:
        raise NotAPhoto(f"图片已损坏 / the image is damaged: {error}") from None
    return _jpeg(image, long_edge, quality)


def inspect_jpeg(data: bytes) -> tuple[int, int]:
    """The width and height of a JPEG Pillow can decode whole; NotAPhoto otherwise."""
    image = _opened(data)
    if image.format != "JPEG":
        raise NotAPhoto(f"不是 JPEG 图片 / not a JPEG image ({image.format})")
    try:
        image.load()
    except (OSError, SyntaxError) as error:
        raise NotAPhoto(f"图片已损坏 / the image is damaged: {error}") from None
    return image.width, image.height


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of the photo, for lists (THUMBNAIL_LONG_EDGE)."""
    return _jpeg(_opened(data), THUMBNAIL_LONG_EDGE, 70)


# JPEG markers: APP1..APP15 (EXIF, XMP, ICC profiles, makers' notes…) and COM.
_METADATA = {*range(0xE1, 0xF0), 0xFE}
_SOS = 0xDA


def strip_metadata(data: bytes) -> bytes:
    """The JPEG with its APP1–APP15 and comment segments dropped, losslessly:
    the compressed image is copied as it is. Expects a JPEG ``inspect_jpeg``
    accepted."""
    out = bytearray(data[:2])  # SOI
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise NotAPhoto("JPEG 结构不正确 / malformed JPEG segments")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == _SOS:
            break  # the image data follows, to the end
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if marker not in _METADATA:
            out += data[position:end]
        position = end
    out += data[position:]
    return bytes(out)
