"""Photos for tests, as the foundation commit named them (the other helpers'
tests import them from here); made in bench/samples.py, which the benchmarks
share and which cannot import tests."""

from bench.samples import GPS_INFO, camera_photo, phone_photo

__all__ = ["GPS_INFO", "camera_photo", "phone_photo"]
