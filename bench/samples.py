"""Sample photos for the benchmarks and tests: made like a camera's, deterministically."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops

from shared.images import downscale

# EXIF tags: GPSInfo's pointer, and within it latitude and longitude.
GPS_INFO = 0x8825


def camera_photo(
    seed: int = 1, size: tuple[int, int] = (4000, 3000), gps: tuple[float, float] | None = None
) -> bytes:
    """A JPEG as a phone's camera makes one: 12 megapixels of shapes, texture
    and sensor noise (a flat colour would compress to nothing), at the
    camera's quality 92, optionally with its location in EXIF."""
    rng = random.Random(seed)
    width, height = size

    def noise(w: int, h: int) -> Image.Image:
        return Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)).resize(
            size, Image.Resampling.BICUBIC
        )

    # Broad areas (walls, sky), mid-size texture (leaves, tiles), grain.
    broad = noise(max(width // 400, 2), max(height // 400, 2))
    texture = noise(width // 12, height // 12)
    grain = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    image = Image.blend(Image.blend(broad, texture, 0.35), grain, 0.06)
    image = ImageChops.multiply(image, Image.new("RGB", size, (255, 235, 210)))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Minqing test camera"  # Make
    if gps is not None:
        latitude, longitude = gps
        exif[GPS_INFO] = {
            1: "N" if latitude >= 0 else "S",
            2: _degrees(abs(latitude)),
            3: "E" if longitude >= 0 else "W",
            4: _degrees(abs(longitude)),
        }
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def _degrees(value: float) -> tuple[float, float, float]:
    minutes, seconds = divmod(value * 3600, 60)
    degrees, minutes = divmod(minutes, 60)
    return (float(degrees), float(minutes), round(seconds, 2))


def phone_photo(seed: int = 1) -> bytes:
    """A photo as the phone keeps and sends it (from a smaller camera photo, to be quick)."""
    return downscale(camera_photo(seed, (1600, 1200)))
