"""A cadre's phone without the screen: the notebook, the outbox and sync.

The Kivy app drives one of these; tests and benchmarks run hundreds of them
headless ("virtual phones"). Everything is saved locally first, validated
by the same schemas the server uses, and sent when the server is reachable.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.images import inspect_jpeg, thumbnail
from shared.protocol import MAX_PHOTOS_PER_RECORD
from shared.schemas import (
    PHOTO_CONTENT_TYPE,
    HouseholdSchema,
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    PhotoSchema,
    VisitSchema,
)
from sync.engine import Progress, SyncEngine, SyncReport
from sync.hlc import Clock, Stamp, wall_clock_ms
from sync.lock import AppLock
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS
from sync.sqlite_store import LocalWrite, PhotoFile, SQLiteStore
from sync.store import OutboxEntry
from sync.transport import HttpTransport, Transport, TransportError

# Minutes in the background after which the app asks for the PIN again.
DEFAULT_LOCK_MINUTES = 5


class NotLoggedIn(Exception):
    """The phone has no device token yet: log in once, with signal."""


class Phone:
    def __init__(
        self,
        path: str | Path,
        server_url: str | None = None,
        *,
        transport: Transport | None = None,
        cafile: str | None = None,
        wall_ms: Callable[[], int] = wall_clock_ms,
        progress: Progress | None = None,
    ) -> None:
        """``cafile``: the certificate(s) to trust for the server's HTTPS besides
        the system's (a county's own authority, or its server's certificate)."""
        self.store = SQLiteStore(path)
        self.lock = AppLock(self.store)
        self.cafile = cafile
        url = server_url or self.store.get_meta("server_url") or ""
        self.transport = transport or HttpTransport(url, cafile=cafile)
        if server_url:
            self.store.set_meta({"server_url": server_url})
        self._wall_ms = wall_ms
        last = self.store.get_meta("last_stamp")
        self.clock = Clock(
            self.store.get_meta("device_id") or "unregistered",
            now_ms=wall_ms,
            offset_ms=int(self.store.get_meta("clock_offset_ms") or 0),
            last=Stamp.parse(last) if last else None,
        )
        self.engine = SyncEngine(
            self.store, self.transport, self.clock, progress=progress, wall_ms=wall_ms
        )

    def close(self) -> None:
        self.transport.close()
        self.store.close()

    # --- account -------------------------------------------------------------

    def login(self, username: str, password: str, device_name: str = "") -> dict[str, Any]:
        """Register this phone (needs signal once); the login survives restarts.

        The phone keeps one registration id for good, saved before it is first
        sent: logging in again after an answer lost on the way gives this phone
        back its device rather than a second one.
        """
        registration_id = self.store.get_meta("registration_id")
        if registration_id is None:
            registration_id = str(uuid.uuid4())
            self.store.set_meta({"registration_id": registration_id})
        answer = self.transport.login(username, password, device_name, registration_id)
        self.store.set_meta(
            {
                "token": answer["token"],
                "device_id": answer["device_id"],
                "account": json.dumps(answer["account"], ensure_ascii=False),
                # A new login starts a new scope: pull it whole.
                "cursor": None,
                # Set by the county (servers before it send none: the default).
                "lock_minutes": str(answer.get("lock_minutes", DEFAULT_LOCK_MINUTES)),
            }
        )
        self.clock.node = answer["device_id"]
        account: dict[str, Any] = answer["account"]
        return account

    @property
    def logged_in(self) -> bool:
        return self.store.has_meta("token")

    @property
    def account(self) -> dict[str, Any]:
        raw = self.store.get_meta("account")
        if not raw:
            raise NotLoggedIn("请先登录 / log in first")
        account: dict[str, Any] = json.loads(raw)
        return account

    @property
    def device_id(self) -> str:
        device_id = self.store.get_meta("device_id")
        if not device_id:
            raise NotLoggedIn("请先登录 / log in first")
        return device_id

    # --- reading the notebook ------------------------------------------------

    def households(self) -> list[dict[str, Any]]:
        return [h for h in self.store.records("household") if not h.get("deleted_at")]

    def household(self, household_id: str) -> dict[str, Any] | None:
        return self.store.record("household", household_id)

    def visits(self, household_id: str | None = None) -> list[dict[str, Any]]:
        visits = self.store.records("visit", household_id)
        return sorted((v for v in visits if not v.get("deleted_at")), key=lambda v: v["visited_at"])

    def issues(self, household_id: str | None = None) -> list[dict[str, Any]]:
        issues = self.store.records("issue", household_id)
        return sorted((i for i in issues if not i.get("deleted_at")), key=lambda i: i["raised_at"])

    def issue_events(self, issue_id: str) -> list[dict[str, Any]]:
        events = [e for e in self.store.records("issue_event") if e["issue_id"] == issue_id]
        return sorted(events, key=lambda e: e["at"])

    def pending_count(self) -> int:
        return self.store.pending_count()

    def photos(self, record_kind: str, record_id: str) -> list[dict[str, Any]]:
        """The live photos of a visit, issue or follow-up, oldest first."""
        parent = self.store.record(record_kind, record_id)
        household_id = self._household_of(record_kind, parent) if parent else None
        return self.photos_by_record(household_id).get((record_kind, record_id), [])

    def photos_by_record(
        self, household_id: str | None = None
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """The live photos of a household's records (or of all), oldest first,
        by (record_kind, record_id): one read for a page of records."""
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for photo in sorted(
            self.store.records("photo", household_id), key=lambda photo: photo.get("stamp") or ""
        ):
            if not photo.get("deleted_at"):
                grouped.setdefault((photo["record_kind"], photo["record_id"]), []).append(photo)
        return grouped

    def photo_thumbnail(self, sha256: str) -> bytes | None:
        """A photo's thumbnail, if the phone has it (a pulled one's comes with the next sync)."""
        kept = self.store.photo_file(sha256)
        return kept.thumbnail if kept else None

    def photo_data(self, sha256: str) -> bytes | None:
        """A photo's full bytes, if the phone has them (``fetch_photo`` gets a pulled one's)."""
        kept = self.store.photo_file(sha256)
        return kept.data if kept else None

    def fetch_photo(self, sha256: str) -> bytes:
        """A photo's full bytes: kept ones at once, a pulled one's fetched from
        the server (needs signal; raises TransportError without)."""
        kept = self.photo_data(sha256)
        if kept is not None:
            return kept
        try:
            data = self.transport.fetch_photo(self.engine.token, sha256, thumbnail=False)
        finally:
            self.transport.close()
        self.store.save_photo_bytes(sha256, data=data)
        return data

    def photos_to_send(self) -> tuple[int, int]:
        """How many photos still wait to be uploaded, and how many bytes of them."""
        waiting = self.store.photos_in_state("local", "to_send")
        return len(waiting), sum(p["size"] - p["uploaded_bytes"] for p in waiting)

    # --- writing the notebook ------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.physical_ms() / 1000, UTC)

    def record_visit(
        self,
        household_id: str,
        *,
        kind: str = "home_visit",
        roles: Iterable[str] = (),
        topics: Iterable[str] = (),
        notes: str = "",
        visited_at: datetime | None = None,
        location: tuple[float, float] | None = None,
        issues: Iterable[Mapping[str, Any]] = (),
        amends: str | None = None,
        photos: Sequence[bytes] = (),
    ) -> str:
        """Save a visit and the issues raised at it, locally and at once,
        with their photos (the visit's ``photos``, an issue's "photos"; each
        already downscaled) in the same transaction.

        Raises marshmallow's ValidationError, or ValueError for photos
        (nothing saved), on bad input.
        """
        household = self._household(household_id)
        visit_id = str(uuid.uuid4())
        visit = _checked(
            VisitSchema(),
            {
                "id": visit_id,
                "cadre_id": self._cadre_id(),
                "household_id": household_id,
                "visited_at": (visited_at or self.now()).isoformat(),
                "kind": kind,
                "roles": list(roles),
                "topics": list(topics),
                "notes": notes,
                "latitude": location[0] if location else None,
                "longitude": location[1] if location else None,
                "amends_id": amends,
            },
        )
        rows = [Row("visit", visit_id, household_id, visit, visit)]
        kept = self._photo_rows("visit", visit_id, household_id, photos, rows)
        for raised in issues:
            issue_id = str(uuid.uuid4())
            village_level = bool(raised.get("village_level"))
            issue = _checked(
                IssueSchema(),
                {
                    "id": issue_id,
                    "village_id": self._village_of(household),
                    "household_id": None if village_level else household_id,
                    "visit_id": visit_id,
                    "raised_by_cadre_id": self._cadre_id(),
                    "raised_at": visit["visited_at"],
                    "category": raised.get("category"),
                    "description": raised.get("description"),
                    "status": raised.get("status", "open"),
                    "department": raised.get("department", ""),
                    "aid_amount": raised.get("aid_amount"),
                },
            )
            rows.append(Row("issue", issue_id, issue["household_id"], issue, issue))
            kept += self._photo_rows(
                "issue", issue_id, household_id, raised.get("photos") or (), rows
            )
        self.store.commit_local(*self._local(rows, household_id), kept)
        return visit_id

    def edit_household(self, household_id: str, **changes: Any) -> None:
        """Change household facts; they merge field by field on the server.

        Read, changed and written in one store transaction: an edit made at
        the same moment (another tap, a sync storing the household) is never
        lost, and the stamp is taken in the order the edits are stored.
        """
        not_editable = sorted(set(changes) - EDITABLE_HOUSEHOLD_FIELDS)
        if not_editable:
            raise ValueError(f"not editable on the phone: {', '.join(not_editable)}")
        _checked(HouseholdSchema(only=tuple(changes), partial=True), dict(changes))

        def edit(household: dict[str, Any]) -> LocalWrite:
            stamp = str(self.clock.now())
            change = OutboxEntry(
                change_id=str(uuid.uuid4()),
                kind="household",
                op="update",
                record_id=household_id,
                household_id=household_id,
                stamp=stamp,
                base_seq=int(household["seq"]),
                record={"id": household_id, **changes},
            )
            data = {k: v for k, v in household.items() if k not in ("id", "seq")}
            data.update(changes)
            return (
                [("household", household_id, household_id, data)],
                [change],
                {"last_stamp": stamp},
            )

        self.store.commit_edit("household", household_id, edit)

    def follow_up(
        self,
        issue_id: str,
        *,
        note: str | None = None,
        status: str | None = None,
        department: str = "",
        at: datetime | None = None,
        photos: Sequence[bytes] = (),
    ) -> str:
        """Follow an issue up: add a note or a status event to it, with its
        photos (already downscaled).

        Read and written in one store transaction, as edit_household: a status
        change is made on the status shown, whatever else is being saved.
        """
        event_id = str(uuid.uuid4())
        issue = self.store.record("issue", issue_id)
        if issue is None:
            raise KeyError(f"issue {issue_id} is not on this phone")
        photo_rows: list[Row] = []
        kept = self._photo_rows(
            "issue_event", event_id, self._household_of("issue", issue), photos, photo_rows
        )

        def follow(issue: dict[str, Any]) -> LocalWrite:
            event = _checked(
                IssueEventSchema(),
                {
                    "id": event_id,
                    "issue_id": issue_id,
                    "at": (at or self.now()).isoformat(),
                    "kind": "status" if status else "note",
                    "status": status,
                    "base_status": issue["status"] if status else None,
                    "department": department,
                    "note": note or "",
                },
            )
            household_id = issue.get("household_id")
            rows: list[Row] = [
                Row(
                    "issue_event",
                    event_id,
                    household_id,
                    {**event, "cadre_id": self._cadre_id()},
                    event,
                )
            ]
            if status:
                # Shown at once on the phone; the server folds the status itself.
                shown = {k: v for k, v in issue.items() if k not in ("id", "seq")}
                shown.update(status=status, department=department or issue["department"])
                rows.append(Row("issue", issue_id, household_id, shown, None))
            return self._local(rows + photo_rows, household_id)

        self.store.commit_edit("issue", issue_id, follow, kept)
        return event_id

    def record_inspection(self, household_id: str, **answers: Any) -> str:
        """An inspector's spot check of a household."""
        inspection_id = str(uuid.uuid4())
        inspection = _checked(
            InspectionSchema(),
            {
                "id": inspection_id,
                "household_id": household_id,
                "inspected_on": answers.pop("inspected_on", self.now().date().isoformat()),
                **answers,
            },
        )
        self._save(
            [Row("inspection", inspection_id, household_id, inspection, inspection)], household_id
        )
        return inspection_id

    def attach_photo(self, record_kind: str, record_id: str, jpeg_bytes: bytes) -> str:
        """Attach a photo (already downscaled: shared/images.py ``downscale``)
        to a visit, issue or follow-up on this phone; its id.

        The record, its outbox entry and the bytes are saved in one
        transaction; the bytes are sent after the record (docs/sync.md).
        Raises ValueError (nothing saved) for bytes that are not a JPEG or a
        record that has its MAX_PHOTOS_PER_RECORD photos already.
        """
        parent = self.store.record(record_kind, record_id)
        if parent is None:
            raise KeyError(f"no {record_kind} {record_id} on this phone")
        household_id = self._household_of(record_kind, parent)
        already = len(self.photos(record_kind, record_id))
        rows: list[Row] = []
        kept = self._photo_rows(record_kind, record_id, household_id, [jpeg_bytes], rows, already)
        self.store.commit_local(*self._local(rows, household_id), kept)
        return rows[0].id

    def delete(self, kind: str, record_id: str) -> None:
        """Remove a record entered by mistake (it becomes a tombstone everywhere)."""
        existing = self.store.record(kind, record_id)
        if existing is None:
            raise KeyError(f"no {kind} {record_id} on this phone")
        if not self._entered_by_me(kind, existing):
            # The server would refuse it: only its author's phones may.
            raise ValueError("只能删除本人录入的记录 / you can only delete records you entered")
        stamp = str(self.clock.now())
        household_id = existing.get("household_id")
        shown = {k: v for k, v in existing.items() if k not in ("id", "seq")}
        shown["deleted_at"] = self.now().isoformat()
        self.store.commit_local(
            [(kind, record_id, household_id, shown)],
            [
                OutboxEntry(
                    str(uuid.uuid4()),
                    kind,
                    "delete",
                    record_id,
                    household_id,
                    stamp,
                    0,
                    {"id": record_id},
                )
            ],
            {"last_stamp": stamp},
        )

    # --- sync ----------------------------------------------------------------

    # One connection for a whole sync (or login); the next comes minutes
    # later, after the server has long closed an idle one.

    def sync(self) -> SyncReport:
        try:
            return self._erase_if_lost(self.engine.sync())
        finally:
            self.transport.close()

    def sync_with_retry(self, **options: Any) -> SyncReport:
        try:
            return self._erase_if_lost(self.engine.sync_with_retry(**options))
        finally:
            self.transport.close()

    def _erase_if_lost(self, report: SyncReport) -> SyncReport:
        """A phone reported lost erases its store, then tells the server so.

        The store is gone whether or not the server hears it; the console then
        shows the phone as lost but not yet confirmed.
        """
        if report.lost:
            token = self.engine.token
            self.store.erase()
            try:
                self.transport.confirm_wipe(token)
                report.wipe_confirmed = True
            except TransportError as unheard:
                report.error = str(unheard)
        return report

    # --- helpers -------------------------------------------------------------

    def _cadre_id(self) -> str:
        cadre_id = self.account.get("cadre_id")
        if not cadre_id:
            raise NotLoggedIn("该账号不是挂户干部 / this account is not a cadre")
        return str(cadre_id)

    def _entered_by_me(self, kind: str, record: dict[str, Any]) -> bool:
        """Whether this cadre entered ``record`` on a phone (a record loaded in
        bulk or entered in the console has no stamp)."""
        if not record.get("stamp"):
            return False
        author = {"visit": "cadre_id", "issue": "raised_by_cadre_id", "photo": "cadre_id"}.get(kind)
        # An inspection is only ever on the phone of the inspector who made it.
        return author is None or record.get(author) == self.account.get("cadre_id")

    def _household_of(self, kind: str, record: dict[str, Any]) -> str | None:
        """The household a visit, issue or follow-up is of: a village's
        issue, the household of the visit it was raised at."""
        if kind == "issue_event":
            issue = self.store.record("issue", record["issue_id"])
            return self._household_of("issue", issue) if issue else None
        if record.get("household_id"):
            return str(record["household_id"])
        visit = self.store.record("visit", record["visit_id"]) if record.get("visit_id") else None
        return str(visit["household_id"]) if visit else None

    def _photo_rows(
        self,
        record_kind: str,
        record_id: str,
        household_id: str | None,
        photos: Sequence[bytes],
        rows: list[Row],
        already: int = 0,
    ) -> list[PhotoFile]:
        """Add to ``rows`` the records of ``photos`` of a record that has
        ``already`` photos; their bytes to keep. Raises ValueError (before
        anything is saved) for too many, or for bytes that are not a JPEG."""
        if not photos:
            return []
        if household_id is None:
            raise ValueError("找不到该记录所属的农户 / the record's household is not on this phone")
        if already + len(photos) > MAX_PHOTOS_PER_RECORD:
            raise ValueError(
                f"每条记录最多 {MAX_PHOTOS_PER_RECORD} 张照片"
                f" / at most {MAX_PHOTOS_PER_RECORD} photos per record"
            )
        kept = []
        for jpeg_bytes in photos:
            width, height = inspect_jpeg(jpeg_bytes)
            sha256 = hashlib.sha256(jpeg_bytes).hexdigest()
            photo_id = str(uuid.uuid4())
            photo = _checked(
                PhotoSchema(),
                {
                    "id": photo_id,
                    "household_id": household_id,
                    "record_kind": record_kind,
                    "record_id": record_id,
                    "sha256": sha256,
                    "size": len(jpeg_bytes),
                    "width": width,
                    "height": height,
                    "content_type": PHOTO_CONTENT_TYPE,
                },
            )
            shown = {**photo, "cadre_id": self._cadre_id()}
            rows.append(Row("photo", photo_id, household_id, shown, photo))
            kept.append(
                PhotoFile(
                    sha256,
                    household_id,
                    len(jpeg_bytes),
                    thumbnail(jpeg_bytes),
                    jpeg_bytes,
                    "local",
                )
            )
        return kept

    def _household(self, household_id: str) -> dict[str, Any]:
        household = self.store.record("household", household_id)
        if household is None:
            raise KeyError(f"household {household_id} is not on this phone")
        return household

    def _village_of(self, household: dict[str, Any]) -> str:
        grid = self.store.record("grid", household["grid_id"])
        if grid is None:
            raise KeyError("the household's grid is not on this phone: sync first")
        return str(grid["village_id"])

    def _save(self, rows: list[Row], household_id: str | None) -> None:
        """Store the rows as shown locally, and queue those with a wire form."""
        self.store.commit_local(*self._local(rows, household_id))

    def _local(self, rows: list[Row], household_id: str | None) -> LocalWrite:
        """The rows as shown locally, and changes for those with a wire form."""
        local = []
        changes = []
        stamp = ""
        for row in rows:
            if row.wire is None:
                local.append((row.kind, row.id, row.household_id, row.shown))
                continue
            stamp = str(self.clock.now())
            # Shown with its stamp, as the server will send it back.
            local.append((row.kind, row.id, row.household_id, {**row.shown, "stamp": stamp}))
            changes.append(
                OutboxEntry(
                    str(uuid.uuid4()), row.kind, "create", row.id, household_id, stamp, 0, row.wire
                )
            )
        return local, changes, {"last_stamp": stamp}


@dataclass(frozen=True)
class Row:
    """A record saved on the phone: as shown locally, and as sent (if it is sent)."""

    kind: str
    id: str
    household_id: str | None
    shown: dict[str, Any]
    wire: dict[str, Any] | None


def _checked(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with the shared schema; return the record as sent on the wire."""
    schema.load(data)  # raises ValidationError with bilingual messages
    return data
