"""Photos: a week's over a 2G link that cuts, the server's storage for a
county's year of them, and a phone's store with a cadre's year.

* A week: one cadre's 30 photos, one per visit, made as the phone makes
  them (a 12-megapixel camera JPEG downscaled by ``shared.images.downscale``),
  synced through a proxy moving 20 KB/s each way that cuts the connection at
  random points, every 64 KB sent on average (bench/link.py), against
  gunicorn on a copy of the scale-1 demo county (PostgreSQL). The phone
  syncs again after each cut, as the app does when signal comes back, until
  every photo is up: requests, bytes each way, seconds.
* The server: the week's blobs and records as PostgreSQL stores them,
  per photo, times the demo county's visits in its year (one photo a visit).
* The phone: a cadre's year, one photo at each visit to each of 30
  households every 14 days (as bench/mobile.py; spread over the households
  the demo cadre's phone holds), in a sealed store.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.link import ShapedLink
from bench.report import machine, table
from bench.samples import camera_photo
from bench.sync import Server, TimedTransport, register_phones, scratch
from server.accounts.models import Account
from server.db import make_engine
from shared.images import downscale
from shared.protocol import PHOTO_JPEG_QUALITY, PHOTO_LONG_EDGE
from shared.vocab import AccountRole
from sync.engine import PHOTO_CHUNK
from sync.lock import AppLock
from sync.phone import Phone
from sync.transport import TransportError

RATE = 20_000  # bytes a second each way: a 2G link
CUT_EVERY = 64 * 1024
WEEK = 30
HOUSEHOLDS = 30
VISIT_EVERY_DAYS = 14
MOST_SYNCS = 1000


def _progress(message: str) -> None:
    print(f"photos: {message}", file=sys.stderr, flush=True)


def run() -> str:
    _progress(f"making {WEEK} camera photos and downscaling them …")
    downscaled, seconds = [], []
    for seed in range(WEEK):
        camera = camera_photo(1000 + seed)
        started = time.perf_counter()
        downscaled.append(downscale(camera))
        seconds.append(time.perf_counter() - started)
    sizes = [len(photo) for photo in downscaled]
    measured_on = machine()
    folder = Path(tempfile.mkdtemp(prefix="minqing-bench-photos-"))
    try:
        with scratch(1, "photos") as url, Server(url) as server:
            # The demo county has photos of its own: the week's are what it adds.
            before = _server_storage(url)
            week = _week_over_2g(url, server, downscaled, folder)
            after = _server_storage(url)
        storage = {
            "bytes": after["bytes"] - before["bytes"],
            "photos": after["photos"] - before["photos"],
            "visits": after["visits"],
        }
        phone = _phone_year(folder / "phone.db", downscaled[0], week["path"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    per_photo = storage["bytes"] / storage["photos"]
    year = per_photo * storage["visits"]
    lines = [
        "## Photos",
        "",
        __doc__.split("\n\n", 1)[1].strip(),
        "",
        measured_on,
        "",
        f"The phone's photos ({PHOTO_LONG_EDGE} px, JPEG quality {PHOTO_JPEG_QUALITY}, no"
        f" metadata): mean {statistics.mean(sizes) / 1024:.0f} KB (min {min(sizes) / 1024:.0f},"
        f" max {max(sizes) / 1024:.0f}); downscaling one from 4000x3000 takes"
        f" {statistics.median(seconds):.2f} s on this machine. At {RATE // 1000} KB/s the week's"
        f" {sum(sizes) / 1024**2:.1f} MB need {sum(sizes) / RATE:.0f} s of an uncut link.",
        "",
        table(
            ["a week's photos over 2G, cut every 64 KB", "value"],
            [
                ["photos", str(WEEK)],
                [
                    "syncs (a cut ends one, unless the transport's one retry gets through)",
                    str(week["syncs"]),
                ],
                ["cuts", str(week["cuts"])],
                ["HTTP requests", f"{week['requests']:,}"],
                ["bytes up (MB)", f"{week['up'] / 1024**2:.2f}"],
                ["bytes down (MB)", f"{week['down'] / 1024**2:.2f}"],
                [
                    "bytes the phone sent / the photos' bytes (%)",
                    f"{100 * week['sent'] / sum(sizes):.0f}",
                ],
                ["seconds", f"{week['seconds']:.0f}"],
                ["photos stored on the server, each once", str(storage["photos"])],
            ],
        ).rstrip(),
        "",
        f"Chunks start at {PHOTO_CHUNK // 1024} KB and halve after a cut (to 16 KB at least),"
        " doubling back after each photo sent whole (sync/engine.py); every cut costs at most"
        " the chunk it fell in.",
        "",
        table(
            ["storage", "value"],
            [
                [
                    "server: per photo (blob, thumbnail, record, indexes; KB)",
                    f"{per_photo / 1024:.0f}",
                ],
                ["server: visits in the demo county's year", f"{storage['visits']:,}"],
                ["server: a county's year, one photo a visit (GB)", f"{year / 1024**3:.1f}"],
                ["phone: photos in a cadre's year", f"{phone['photos']:,}"],
                ["phone: store before them (MB)", f"{phone['before'] / 1024**2:.1f}"],
                ["phone: store with them, sealed (MB)", f"{phone['after'] / 1024**2:.0f}"],
                [
                    "phone: per photo (KB)",
                    f"{(phone['after'] - phone['before']) / phone['photos'] / 1024:.0f}",
                ],
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def _cadre(url: str) -> str:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            username = session.scalar(
                select(Account.username).where(Account.role == AccountRole.CADRE).limit(1)
            )
    finally:
        engine.dispose()
    assert username is not None
    return username


def _week_over_2g(url: str, server: Server, photos: list[bytes], folder: Path) -> dict[str, object]:
    (path,) = register_phones(url, [_cadre(url)], folder, server.url)
    phone = Phone(path, server.url)
    assert phone.sync().ok
    households = sorted(household["id"] for household in phone.households())
    for number, jpeg in enumerate(photos):
        visit_id = phone.record_visit(households[number % len(households)], notes="入户走访，拍照")
        phone.attach_photo("visit", visit_id, jpeg)
    phone.close()

    link = ShapedLink(server.port, rate=RATE, cut_every=CUT_EVERY, seed=2015)
    transport = TimedTransport(link.url)
    phone = Phone(path, transport=transport)
    _progress(f"syncing the week's photos at {RATE // 1000} KB/s with cuts (minutes) …")
    syncs = 0
    started = time.perf_counter()
    try:
        while phone.photos_to_send() != (0, 0):
            syncs += 1
            if syncs > MOST_SYNCS:
                raise RuntimeError(f"photos still to send: {phone.photos_to_send()}")
            try:
                phone.sync()
            except TransportError:
                continue
        seconds = time.perf_counter() - started
    finally:
        phone.close()
        link.close()
    sent = transport.bytes_sent
    return {
        "path": path,
        "syncs": syncs,
        "cuts": link.counters.cuts,
        "requests": transport.requests,
        "up": link.counters.up,
        "down": link.counters.down,
        "sent": sent,
        "seconds": seconds,
    }


def _server_storage(url: str) -> dict[str, int]:
    """The photos' tables as PostgreSQL stores them, and the county's visits."""
    with psycopg.connect(url) as connection:
        size = connection.execute(
            "SELECT pg_total_relation_size('photo_blob') + pg_total_relation_size('photo')"
        ).fetchone()
        photos = connection.execute("SELECT count(*) FROM photo_blob").fetchone()
        visits = connection.execute("SELECT count(*) FROM visit").fetchone()
    assert size and photos and visits
    return {"bytes": int(size[0]), "photos": int(photos[0]), "visits": int(visits[0])}


def _phone_year(path: Path, jpeg: bytes, synced: object) -> dict[str, int]:
    """A copy of the week's phone, sealed, given a year of photos (each a
    different JPEG of the week's first photo's size)."""
    shutil.copy(str(synced), path)
    phone = Phone(path)
    AppLock(phone.store).remember_password("bench-password")
    before = _size(path)
    households = sorted(household["id"] for household in phone.households())
    count = HOUSEHOLDS * (365 // VISIT_EVERY_DAYS)
    _progress(f"attaching {count} photos to a phone's visits …")
    for number in range(count):
        visit_id = phone.record_visit(households[number % len(households)], notes="入户走访，拍照")
        phone.attach_photo("visit", visit_id, _unique(jpeg, number))
    phone.close()
    return {"photos": count, "before": before, "after": _size(path)}


def _unique(jpeg: bytes, number: int) -> bytes:
    """The JPEG with a comment segment naming ``number``: other bytes, the same picture."""
    comment = f"minqing bench {number}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def _size(path: Path) -> int:
    return sum(
        Path(f"{path}{suffix}").stat().st_size
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )
