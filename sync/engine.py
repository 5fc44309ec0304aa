"""The client side of sync: push the outbox, pull the scope, retry with backoff.

Every step is safe to interrupt. The outbox keeps a change until the
server's answer for it is stored; a pushed batch whose answer was lost is
pushed again and the server answers "already applied". A pulled page is
stored with its cursor in one transaction, so a cut sync resumes at the
page it had reached.

A server restored from a backup has forgotten what came after the backup.
It says so with a new epoch on every answer (or, when it was not told, by
finding the phone's cursor ahead of it): the phone then sends again every
change it made and pulls from the start, and the server's receipts turn
what it already had into "already applied".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.protocol import MAX_PUSH_CHANGES
from sync.hlc import Clock, ClockError, Stamp
from sync.store import OutboxEntry, Store, pulled_data, pulled_value
from sync.transport import (
    AuthError,
    DeviceLost,
    NetworkError,
    RequestRefused,
    ServerError,
    Transport,
    TransportError,
)

# Clock differences below this are left alone (see SyncEngine._learn_offset).
OFFSET_TOLERANCE_MS = 1000
# A photo goes up in chunks this big: over 2G (~20 KB/s) one takes ~3 s, so a
# cut costs little, and a request's overhead stays small against it. A link
# that cuts uploads gets halved chunks (down to the least), which it lets
# through more often; each photo sent whole doubles them back.
PHOTO_CHUNK = 64 * 1024
LEAST_PHOTO_CHUNK = 16 * 1024
# Changes a push starts with. While the outbox is longer, each full batch the
# server answers doubles the next (up to the protocol's most), so a long
# backlog goes in few requests; a cut connection halves it (down to the
# least), so less is sent again over a link that keeps cutting.
PUSH_BATCH = 100
LEAST_PUSH_BATCH = 25

Progress = Callable[[str, int, int], None]

# A record's identity and what the merge keeps, never shown: a pulled record
# that differs from the phone's copy only in these brings nothing new.
BOOKKEEPING = frozenset({"id", "stamp", "field_stamps"})


@dataclass
class SyncReport:
    """What one sync did, in numbers and in sentences for the cadre."""

    sent: int = 0
    applied: int = 0
    already_applied: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Pulled records new or changed for this phone (not its own coming back).
    received: int = 0
    evicted: int = 0
    # Households to drop that still have unsent changes: dropped next time.
    kept_until_pushed: list[str] = field(default_factory=list)
    error: str | None = None
    # What went wrong, for the words the phone chooses (mobile/outcome.py).
    failure: TransportError | None = None
    revoked: bool = False
    # Changes sent again because the server was restored from a backup.
    resent: int = 0
    # Reported lost: the phone has erased its store (and told the server, when
    # ``wipe_confirmed``).
    lost: bool = False
    wipe_confirmed: bool = False
    # Photos whose bytes this sync finished uploading, the bytes it sent of
    # them, and those the server refused (sha256 and message).
    photos_sent: int = 0
    photo_bytes_sent: int = 0
    photos_rejected: list[dict[str, Any]] = field(default_factory=list)
    thumbnails_fetched: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class ServerRestored(Exception):
    """The server was restored to an earlier point than this phone has seen."""

    def __init__(self, epoch: str) -> None:
        super().__init__(epoch)
        self.epoch = epoch


class SyncEngine:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        clock: Clock,
        *,
        push_batch: int = PUSH_BATCH,
        most_per_push: int = MAX_PUSH_CHANGES,
        pull_limit: int = 1000,
        progress: Progress | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.push_batch = push_batch
        self.most_per_push = most_per_push
        self.pull_limit = pull_limit
        self.progress = progress or (lambda stage, done, total: None)
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self.photo_chunk = PHOTO_CHUNK

    @property
    def token(self) -> str:
        token = self.store.get_meta("token")
        if not token:
            raise AuthError("this phone has not logged in")
        return token

    def sync(self) -> SyncReport:
        """Push everything pending, pull until up to date, then send the
        photos' bytes and fetch pulled photos' thumbnails: records never wait
        for photos. Raises on failure."""
        report = SyncReport()
        try:
            self.push(report)
            self.pull(report)
        except DeviceLost:
            # Pushed what it could; the caller erases the store.
            report.lost = True
            return report
        except ServerRestored as restored:
            self.store.resend_all(restored.epoch)
            report.resent = self.store.pending_count()
            self.push(report)
            self.pull(report)
        self.store.set_meta({"last_sync_ms": str(self._wall_ms())})
        self.upload_photos(report)
        self.fetch_thumbnails(report)
        return report

    def sync_with_retry(
        self,
        attempts: int = 5,
        base_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> SyncReport:
        """``sync``, retrying network and server failures with exponential backoff.

        A revoked device is not retried: its report says so, and the outbox
        keeps every unsent change for after the cadre logs in again.
        """
        for attempt in range(attempts):
            try:
                return self.sync()
            except AuthError as revoked:
                return SyncReport(error=str(revoked), revoked=True)
            except (NetworkError, ServerError) as failure:
                if attempt == attempts - 1:
                    return SyncReport(error=str(failure), failure=failure)
                sleep(base_delay * 2**attempt * (1 + random.random() / 2))
        raise AssertionError("unreachable")

    def push(self, report: SyncReport) -> None:
        total = self.store.pending_count()
        while True:
            batch = self.store.pending(self.push_batch)
            if not batch:
                return
            sent_at = self._wall_ms()
            try:
                # The device's own clock, uncorrected: the server measures how far
                # it is off and brings back the times the outbox took with it.
                answer = self.transport.push(
                    self.token, sent_at, [entry.to_wire() for entry in batch]
                )
            except NetworkError:
                least = min(self.push_batch, LEAST_PUSH_BATCH)
                self.push_batch = max(least, self.push_batch // 2)
                raise
            if len(batch) == self.push_batch:
                self.push_batch = min(self.most_per_push, self.push_batch * 2)
            self._learn_offset(sent_at, answer["server_time_ms"])
            results = answer["results"]
            self.store.acknowledge(results)
            self._photo_records_answered(batch, results)
            report.sent += len(batch)
            for result in results:
                status = result.get("status")
                if status == "applied":
                    report.applied += 1
                elif status == "already_applied":
                    report.already_applied += 1
                elif status == "conflict":
                    report.conflicts.append(result)
                else:
                    report.rejected.append(result)
            self.progress("push", report.sent, total)
            # After acknowledging: the answers hold for the restored server too.
            self._check_epoch(answer)

    def _photo_records_answered(
        self, batch: list[OutboxEntry], results: list[dict[str, Any]]
    ) -> None:
        """A photo whose record the server took is to be uploaded; one whose
        record it refused never will be (the reason is kept to show)."""
        answers = {result.get("change_id"): result for result in results}
        for entry in batch:
            result = answers.get(entry.change_id)
            if entry.kind != "photo" or entry.op != "create" or result is None:
                continue
            sha256 = entry.record["sha256"]
            if result.get("status") == "rejected":
                message = result.get("message") or ""
                self.store.set_photo_state(sha256, "rejected", message=message, was=("local",))
            else:
                self.store.set_photo_state(sha256, "to_send", was=("local",))

    def upload_photos(self, report: SyncReport) -> None:
        """Send the bytes of every photo whose record the server took, each
        from the offset the server holds (a cut upload resumes there)."""
        waiting = self.store.photos_in_state("to_send")
        for number, photo in enumerate(waiting):
            self.progress("photos", number, len(waiting))
            try:
                self._upload(photo["sha256"], photo["size"], report)
            except NetworkError:
                self.photo_chunk = max(LEAST_PHOTO_CHUNK, self.photo_chunk // 2)
                raise
            except RequestRefused as refused:
                self.store.set_photo_state(photo["sha256"], "rejected", message=str(refused))
                report.photos_rejected.append({"sha256": photo["sha256"], "message": str(refused)})

    def _upload(self, sha256: str, size: int, report: SyncReport) -> None:
        offset = self.transport.photo_offset(self.token, sha256)
        data = b""
        while offset < size:
            if not data:
                kept = self.store.photo_file(sha256)
                # The phone's own photos keep their bytes until their household leaves it.
                assert kept is not None and kept.data is not None, sha256
                data = kept.data
            chunk = data[offset : offset + self.photo_chunk]
            offset = self.transport.upload_photo_chunk(self.token, sha256, offset, size, chunk)
            report.photo_bytes_sent += len(chunk)
            self.store.set_photo_state(sha256, "to_send", uploaded_bytes=offset)
        self.store.set_photo_state(sha256, "sent", uploaded_bytes=size)
        report.photos_sent += 1
        self.photo_chunk = min(PHOTO_CHUNK, self.photo_chunk * 2)

    def fetch_thumbnails(self, report: SyncReport) -> None:
        """Fetch the thumbnails of pulled photos (a few KB each); one whose
        bytes are not uploaded yet is asked again next sync."""
        for sha256 in self.store.thumbnails_to_fetch():
            try:
                thumbnail = self.transport.fetch_photo(self.token, sha256, thumbnail=True)
            except RequestRefused:
                continue
            self.store.save_photo_bytes(sha256, thumbnail=thumbnail)
            report.thumbnails_fetched += 1

    def pull(self, report: SyncReport) -> None:
        """Pull pages until up to date.

        While a page is being stored, the next one is already asked for, so
        the server's work and the phone's overlap. A request names the
        households the phone holds: those of a page being stored are named
        already (storing it adds them), but a page that drops households
        is stored before the next request (the phone may keep one it still
        has changes for).
        """
        with ThreadPoolExecutor(1) as ahead:
            held = self.store.held_households()
            coming = ahead.submit(self._ask, self.store.get_meta("cursor"), held)
            while True:
                sent_at, received_at, page = coming.result()
                self._check_epoch(page)
                early = page["more"] and not page["evict"]
                if early:
                    held = _with_households_of(page["records"], held)
                    coming = ahead.submit(self._ask, page["cursor"], held)
                self._learn_offset(sent_at, page["server_time_ms"], received_at)
                self._store(page, report)
                if not page["more"]:
                    self._learn_lock_minutes(page)
                    return
                if not early:
                    held = self.store.held_households()
                    coming = ahead.submit(self._ask, page["cursor"], held)

    def _check_epoch(self, answer: dict[str, Any]) -> None:
        """Raise ServerRestored if the server is in another life than the phone knew."""
        epoch = answer.get("epoch")
        if epoch is None:
            return  # a server from before epochs
        known = self.store.get_meta("server_epoch")
        if answer.get("reset") or known not in (None, epoch):
            raise ServerRestored(epoch)
        if known is None:
            self.store.set_meta({"server_epoch": epoch})

    def _learn_lock_minutes(self, page: dict[str, Any]) -> None:
        """Keep the county's minutes before the PIN: it may have changed them
        since this phone logged in (servers before the setting send none)."""
        minutes = page.get("lock_minutes")
        if minutes is not None and str(minutes) != self.store.get_meta("lock_minutes"):
            self.store.set_meta({"lock_minutes": str(minutes)})

    def _ask(self, cursor: str | None, held: list[str]) -> tuple[int, int, dict[str, Any]]:
        """One page: when it was asked for and came, and the page."""
        sent_at = self._wall_ms()
        page = self.transport.pull(self.token, cursor, held, self.pull_limit)
        return sent_at, self._wall_ms(), page

    def _store(self, page: dict[str, Any], report: SyncReport) -> None:
        """Store a page with its cursor, and count what it brought."""
        self._observe(page["records"])
        versions = self.store.held_versions(page["records"])
        news = sum(
            is_news(item, versions.get((item["kind"], str(item["id"]))), self.clock.node)
            for item in page["records"]
        )
        kept = self.store.apply_page(page["records"], page["evict"], page["cursor"])
        report.received += news
        report.evicted += len(page["evict"]) - len(kept)
        report.kept_until_pushed = kept
        self.progress("pull", report.received, report.received)

    def _learn_offset(
        self, sent_at_ms: int, server_ms: int, received_ms: int | None = None
    ) -> None:
        """Correct this phone's clock by the server's, when it is clearly off.

        The server's time is known only to within half the round trip; a
        difference smaller than that (plus a second) is noise, not a wrong clock.
        """
        received_ms = self._wall_ms() if received_ms is None else received_ms
        estimate = server_ms - (sent_at_ms + received_ms) // 2
        uncertainty = (received_ms - sent_at_ms) // 2 + OFFSET_TOLERANCE_MS
        if abs(estimate - self.clock.offset_ms) > uncertainty:
            self.clock.correct(estimate)
            last = self.clock.last
            self.store.set_meta(
                {"clock_offset_ms": str(estimate), "last_stamp": str(last) if last else None}
            )

    def _observe(self, records: list[dict[str, Any]]) -> None:
        """Move this phone's clock past every stamp it receives (causality).

        Being past the latest is being past them all: the stamps are tried
        latest first (their fixed-width hex sorts as they do) until one is
        believable; a malformed or absurd stamp must not stop the sync.
        """
        texts: list[str] = []
        for item in records:
            texts.append(pulled_value(item, "stamp") or "")
            if item["kind"] == "household":  # the one kind stamped field by field
                stamps = pulled_data(item).get("field_stamps") or {}
                texts += [entry.get("stamp") or "" for entry in stamps.values()]
        for text in sorted(filter(None, texts), reverse=True):
            try:
                self.clock.observe(Stamp.parse(text))
            except ClockError:
                continue
            return


def _with_households_of(records: list[dict[str, Any]], held: list[str]) -> list[str]:
    """``held``, and the households among ``records`` it lacks."""
    known = set(held)
    new = {str(item["id"]) for item in records if item["kind"] == "household"} - known
    return held + sorted(new)


def is_news(item: dict[str, Any], held: tuple[int, dict[str, Any]] | None, node: str) -> bool:
    """Whether a pulled record is new or changed for the phone holding ``held`` of it.

    The server sends back what the phone itself recorded, with the records it
    derives from them (the status an issue was raised with): a record the
    phone holds as it is, or a new one stamped by this phone (``node``), is
    not news.
    """
    if held is None:
        return not _stamped_by(pulled_value(item, "stamp"), node)
    seq, stored = held
    if item["seq"] < seq:
        return False  # an older version than the phone's: not stored
    data = pulled_data(item)
    names = (stored.keys() | data.keys()) - BOOKKEEPING
    return not all(_same(stored.get(name), data.get(name)) for name in names)


def _stamped_by(text: Any, node: str) -> bool:
    # Most pulled records are others': told apart without parsing their stamps.
    if not isinstance(text, str) or not text.endswith(f"@{node}"):
        return False
    try:
        return Stamp.parse(text).node == node
    except ClockError:
        return False


def _same(held: Any, pulled: Any) -> bool:
    """Equal, or the same moment written in another time zone (the phone's own
    times come back in UTC)."""
    if held == pulled:
        return True
    if not (isinstance(held, str) and isinstance(pulled, str)):
        return False
    try:
        ours, theirs = datetime.fromisoformat(held), datetime.fromisoformat(pulled)
    except ValueError:
        return False
    return ours.tzinfo is not None and theirs.tzinfo is not None and ours == theirs
