"""How sync's JSON is compressed each way, chosen by measurement (issue 18, point 4).

Real bodies are captured from phones syncing with gunicorn on a copy of the
scale-1 demo county: a new phone's first sync (snapshot pages), a week's
push (batches of changes) and the other phone's pull of that week (a feed
page). Each is then compressed at every gzip level a phone's Python can
read (zlib, in every CPython and in python-for-android), and with zstd
where the ``zstandard`` module happens to be installed on this machine:
bytes on the wire against the CPU of the side that compresses and of the
side that inflates, per record.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import machine, table
from bench.sync import (
    Server,
    cadres,
    make_week,
    phone_folder,
    register_phones,
    scratch,
)
from sync.phone import Phone
from sync.transport import Headers, HttpTransport

LEVELS = (1, 3, 6, 9)
# Each timing is the fastest of this many: the machine is shared.
REPEATS = 5
# A 2G link's rate, for what a level's bytes cost in time.
LINK_BYTES_PER_S = 20_000
PHONES = 3


class CapturingTransport(HttpTransport):
    """The phone's own transport, keeping each JSON request and answer as sent."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.bodies: list[tuple[str, bytes, bytes]] = []

    def _exchange(
        self, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        status, answer, raw = super()._exchange(path, payload, headers)
        inflated = gzip.decompress(raw) if answer.get("Content-Encoding") == "gzip" else raw
        self.bodies.append((path, gzip.decompress(payload), inflated))
        return status, answer, raw


@dataclass
class Sample:
    name: str
    bodies: list[bytes]
    records: int


@dataclass
class Codec:
    name: str
    compress: Callable[[bytes], bytes]
    inflate: Callable[[bytes], bytes]


def _codecs() -> list[Codec]:
    codecs = [
        Codec(
            f"gzip {level}",
            lambda data, level=level: gzip.compress(data, compresslevel=level),
            gzip.decompress,
        )
        for level in LEVELS
    ]
    try:
        import zstandard  # type: ignore[import-not-found]  # optional: not on phones
    except ImportError:
        return codecs
    for level in (1, 3):
        compressor = zstandard.ZstdCompressor(level=level)
        codecs.append(
            Codec(f"zstd {level}", compressor.compress, zstandard.ZstdDecompressor().decompress)
        )
    return codecs


def _synced(path: Path, url: str) -> CapturingTransport:
    phone = Phone(path)
    transport = CapturingTransport(url)
    phone.transport = phone.engine.transport = transport
    try:
        phone.sync()
    finally:
        phone.close()
    return transport


def samples(url: str, server: Server) -> list[Sample]:
    usernames = cadres(url, PHONES)
    folder = phone_folder()
    writers = register_phones(url, usernames, folder, server.url)
    readers = register_phones(url, usernames, folder, server.url)
    first = [_synced(path, server.url) for path in writers + readers]
    for path in writers:
        make_week(path)
    pushed = [_synced(path, server.url) for path in writers]
    pulled = [_synced(path, server.url) for path in readers]

    def answers(transports: list[CapturingTransport], what: str) -> list[bytes]:
        return [answer for t in transports for path, _, answer in t.bodies if path.endswith(what)]

    def requests(transports: list[CapturingTransport], what: str) -> list[bytes]:
        return [body for t in transports for path, body, _ in t.bodies if path.endswith(what)]

    def count(bodies: list[bytes], key: str) -> int:
        return sum(len(json.loads(body)[key]) for body in bodies)

    snapshot = answers(first, "/pull")
    week = requests(pushed, "/push")
    feed = answers(pulled, "/pull")
    return [
        Sample("a new phone's first sync: pull answers", snapshot, count(snapshot, "records")),
        Sample("a week's push: requests", week, count(week, "changes")),
        Sample("the other phone's pull of that week: answers", feed, count(feed, "records")),
    ]


def _fastest(action: Callable[[], Any]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.process_time()
        action()
        timings.append(time.process_time() - started)
    return min(timings)


def measure(sample: Sample, codec: Codec) -> dict[str, float]:
    packed = [codec.compress(body) for body in sample.bodies]
    squeeze = _fastest(lambda: [codec.compress(body) for body in sample.bodies])
    inflate = _fastest(lambda: [codec.inflate(body) for body in packed])
    raw = sum(len(body) for body in sample.bodies)
    sent = sum(len(body) for body in packed)
    return {
        "raw": raw,
        "sent": sent,
        "compress_us": 1e6 * squeeze / sample.records,
        "inflate_us": 1e6 * inflate / sample.records,
        "link_ms": 1e3 * sent / LINK_BYTES_PER_S / sample.records,
    }


def run() -> str:
    with scratch(1, "compression") as url, Server(url) as server:
        taken = samples(url, server)
    codecs = _codecs()
    rows = []
    for sample in taken:
        for codec in codecs:
            numbers = measure(sample, codec)
            rows.append(
                [
                    sample.name,
                    f"{sample.records:,}",
                    codec.name,
                    f"{numbers['raw'] / sample.records:.0f}",
                    f"{numbers['sent'] / sample.records:.0f}",
                    f"{numbers['compress_us']:.1f}",
                    f"{numbers['inflate_us']:.1f}",
                    f"{numbers['link_ms']:.2f}",
                ]
            )
    zstd = any(codec.name.startswith("zstd") for codec in codecs)
    return (
        "## Compression of sync's JSON\n\n"
        + (__doc__ or "").split("\n\n", 1)[1]
        + "\n"
        + machine()
        + "\n\n"
        + table(
            [
                "body",
                "records",
                "codec",
                "JSON B/record",
                "sent B/record",
                "compress µs/record",
                "inflate µs/record",
                "ms/record at 20 KB/s",
            ],
            rows,
        )
        + "\n"
        + (
            ""
            if zstd
            else "zstd was not measured: the `zstandard` module is not installed here, and"
            " neither CPython 3.11's standard library nor python-for-android has it,"
            " so phones could not read it.\n"
        )
        + f"\nEach CPU figure is the fastest of {REPEATS} (process time, one core).\n"
    )
