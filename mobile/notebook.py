"""The cadre's notebook on this phone: what the screens show, read from the Phone.

Everything here blocks on SQLite or the network, so the app calls it from
its worker threads only (mobile/worker.py); screens get back plain
dataclasses and dicts and never touch the store. It composes
sync/phone.py's queries into the views the screens need.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.vocab import SOLVED_STATUSES
from sync.engine import Progress, SyncReport
from sync.lock import MAX_WRONG_PINS, LockState
from sync.phone import DEFAULT_LOCK_MINUTES, Phone
from sync.transport import AuthError, HttpTransport, TransportError
from sync.vault import WrongSecret

# More than a phone ever holds pending; counting them all by kind is cheap.
ALL_PENDING = 1_000_000
# A household not visited for this long stands out in the list.
OVERDUE_DAYS = 30
# Attempts per sync before waiting for the next automatic try.
SYNC_ATTEMPTS = 3
# The app keeps its one setting beside the sync engine's, in the store.
LANGUAGE_KEY = "app_language"


@dataclass(frozen=True)
class Status:
    """What the status bar shows, and whether the phone is logged in."""

    logged_in: bool
    account: dict[str, Any]
    server_url: str
    pending: int
    last_sync_ms: int
    # The language the cadre chose for the app.
    lang: str
    # Whether the store is open, asks for the PIN, or needs a login (sync/lock.py).
    lock: LockState = LockState.OPEN
    # Minutes in the background before the PIN is asked again (the county's rule).
    lock_minutes: int = DEFAULT_LOCK_MINUTES
    # Too many wrong PINs: only the password opens the store.
    locked_out: bool = False
    # Photos whose bytes wait to be sent, and how many bytes of them.
    photos_to_send: int = 0
    photo_bytes_to_send: int = 0


class WrongPin(Exception):
    """A wrong PIN, with the tries left before the password is needed."""

    def __init__(self, left: int) -> None:
        super().__init__(f"{left} tries left")
        self.left = left


@dataclass(frozen=True)
class HouseholdRow:
    """One line of "My households"."""

    id: str
    head_name: str
    code: str
    village: str
    grid: str
    # None when the household was never visited.
    days_since_visit: int | None
    open_issues: int

    @property
    def state(self) -> str:
        if self.days_since_visit is None:
            return "never"
        return "overdue" if self.days_since_visit > OVERDUE_DAYS else "ok"

    def matches(self, query: str) -> bool:
        query = query.strip().lower()
        return not query or any(
            query in text.lower() for text in (self.head_name, self.village, self.grid, self.code)
        )


@dataclass(frozen=True)
class ContactCard:
    """The 联系服务卡: the cadre's unit, name and phone, and public-service numbers."""

    unit: str
    cadre_name: str
    cadre_phone: str
    service_numbers: list[str]


@dataclass(frozen=True)
class PhotoView:
    """A photo as a list shows it: its thumbnail if the phone has it yet (a
    pulled photo's comes with a later sync)."""

    id: str
    sha256: str
    thumbnail: bytes | None


# (record kind, record id) -> its photos, oldest first.
Photos = dict[tuple[str, str], list[PhotoView]]


@dataclass(frozen=True)
class HouseholdView:
    household: dict[str, Any]
    village: str
    grid: str
    card: ContactCard
    # Newest first.
    visits: list[dict[str, Any]]
    issues: list[dict[str, Any]]
    photos: Photos = field(default_factory=dict)


@dataclass(frozen=True)
class IssueView:
    issue: dict[str, Any]
    head_name: str
    # Oldest first, as the story of the issue unfolded.
    events: list[dict[str, Any]]
    photos: Photos = field(default_factory=dict)


@dataclass(frozen=True)
class VisitRow:
    """One visit in the notebook, with its household's name and its issues."""

    id: str
    household_id: str
    head_name: str
    visited_at: datetime
    kind: str
    roles: list[str]
    topics: list[str]
    notes: str
    issues: int
    photos: list[PhotoView] = field(default_factory=list)


@dataclass(frozen=True)
class SyncOutcome:
    """A finished sync, with what the phone knows to put it into words."""

    report: SyncReport
    # Records that left the outbox, by kind.
    sent: dict[str, int]
    # change id -> the head of the household a conflicting change was about.
    names: dict[str, str]
    status: Status
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Photos the server refused: sha256 and its message.
    rejected_photos: list[dict[str, Any]] = field(default_factory=list)


def local_time(text: str) -> datetime:
    """An ISO time from the store, in the phone's time zone."""
    return datetime.fromisoformat(text).astimezone()


class Notebook:
    """The phone's store and sync engine, behind the questions the screens ask."""

    def __init__(
        self, path: Path, server_url: str | None = None, cafile: str | None = None
    ) -> None:
        self.path = path
        self.cafile = cafile
        self.phone = Phone(path, server_url, cafile=cafile)

    def close(self) -> None:
        self.phone.close()

    # --- account ---------------------------------------------------------------

    def status(self) -> Status:
        store = self.phone.store
        lock = self.phone.lock.state
        readable = lock in (LockState.OPEN, LockState.NEEDS_PIN, LockState.NEW)
        photos, photo_bytes = self.phone.photos_to_send()
        return Status(
            logged_in=self.phone.logged_in,
            account=self.phone.account if self.phone.logged_in and readable else {},
            server_url=store.get_meta("server_url") or "",
            pending=self.phone.pending_count(),
            last_sync_ms=int(store.get_meta("last_sync_ms") or 0),
            lang=store.get_meta(LANGUAGE_KEY) or "zh",
            lock=lock,
            lock_minutes=int(store.get_meta("lock_minutes") or DEFAULT_LOCK_MINUTES),
            locked_out=(
                lock is LockState.NEEDS_LOGIN and self.phone.lock.wrong_pins >= MAX_WRONG_PINS
            ),
            photos_to_send=photos,
            photo_bytes_to_send=photo_bytes,
        )

    def set_language(self, lang: str) -> None:
        self.phone.store.set_meta({LANGUAGE_KEY: lang})

    def login(self, server_url: str, username: str, password: str, device_name: str) -> Status:
        """Register this phone, by the name the cadre gave it, with the server (needs signal)."""
        server_url = server_url.strip().rstrip("/")
        if server_url != self.phone.store.get_meta("server_url"):
            transport = HttpTransport(server_url, cafile=self.cafile)
            self.phone.transport = self.phone.engine.transport = transport
            self.phone.store.set_meta({"server_url": server_url})
        lock = self.phone.lock
        was_locked = not self.phone.store.unlocked
        try:
            # A locked store (too many wrong PINs) opens with the password its key was wrapped by.
            lock.open_with_password(password)
        except WrongSecret:
            raise WrongSecret(
                "密码不对：请输入这台手机上次登录时用的密码"
                " / wrong password: use the password this phone last logged in with"
            ) from None
        try:
            self.phone.login(username.strip(), password, device_name.strip())
        except BaseException:
            if was_locked and lock.state is not LockState.NEW:
                self.phone.store.lock()
            raise
        # The first login makes the store's key and seals what the phone holds.
        lock.remember_password(password)
        return self.status()

    def set_pin(self, pin: str) -> Status:
        self.phone.lock.set_pin(pin)
        return self.status()

    def unlock(self, pin: str) -> tuple[Status, list[HouseholdRow]]:
        """Open the store with the PIN (or check it again after a pause).

        Raises WrongPin, or sync.lock.LockedOut at the last allowed try.
        """
        try:
            self.phone.lock.open_with_pin(pin)
        except WrongSecret:
            raise WrongPin(MAX_WRONG_PINS - self.phone.lock.wrong_pins) from None
        return self.status(), self.households()

    # --- reading ---------------------------------------------------------------

    def households(self) -> list[HouseholdRow]:
        """The phone's households, those waiting longest for a visit first: a
        cadre's own, or those assigned to an inspector to check."""
        places = self._places()
        today = self.phone.now().astimezone().date()
        last_visit: dict[str, str] = {}
        for visit in self.phone.visits():  # oldest first: the last one wins
            last_visit[visit["household_id"]] = visit["visited_at"]
        open_issues = Counter(
            issue["household_id"]
            for issue in self.phone.issues()
            if issue.get("household_id") and issue["status"] not in SOLVED_STATUSES
        )
        rows = []
        for household in self.phone.households():
            village, grid = places.get(household["grid_id"], ("", ""))
            visited = last_visit.get(household["id"])
            rows.append(
                HouseholdRow(
                    id=household["id"],
                    head_name=household["head_name"],
                    code=household.get("code", ""),
                    village=village,
                    grid=grid,
                    days_since_visit=(
                        None if visited is None else (today - local_time(visited).date()).days
                    ),
                    open_issues=open_issues[household["id"]],
                )
            )
        never = float("inf")
        rows.sort(
            key=lambda row: (
                -(never if row.days_since_visit is None else row.days_since_visit),
                row.head_name,
            )
        )
        return rows

    def household(self, household_id: str) -> HouseholdView | None:
        household = self.phone.household(household_id)
        if household is None or household.get("deleted_at"):
            return None
        village, grid = self._places().get(household["grid_id"], ("", ""))
        return HouseholdView(
            household=household,
            village=village,
            grid=grid,
            card=self._card(household_id),
            visits=list(reversed(self.phone.visits(household_id))),
            issues=list(reversed(self.phone.issues(household_id))),
            photos=self._photos(household_id),
        )

    def issue(self, issue_id: str) -> IssueView | None:
        issue = self.phone.store.record("issue", issue_id)
        if issue is None:
            return None
        household = self.phone.household(issue["household_id"]) if issue["household_id"] else None
        return IssueView(
            issue=issue,
            head_name=household["head_name"] if household else "",
            events=self.phone.issue_events(issue_id),
            photos=self._photos(issue["household_id"]),
        )

    def visits(
        self, household_id: str | None = None, start: date | None = None, end: date | None = None
    ) -> list[VisitRow]:
        """The notebook: visits newest first, optionally one household's, between two days."""
        names = {h["id"]: h["head_name"] for h in self.phone.households()}
        issues = Counter(issue.get("visit_id") for issue in self.phone.issues(household_id))
        photos = self._photos(household_id)
        rows = []
        for visit in reversed(self.phone.visits(household_id)):
            when = local_time(visit["visited_at"])
            if (start and when.date() < start) or (end and when.date() > end):
                continue
            rows.append(
                VisitRow(
                    id=visit["id"],
                    household_id=visit["household_id"],
                    head_name=names.get(visit["household_id"], ""),
                    visited_at=when,
                    kind=visit["kind"],
                    roles=visit.get("roles") or [],
                    topics=visit.get("topics") or [],
                    notes=visit.get("notes") or "",
                    issues=issues[visit["id"]],
                    photos=photos.get(("visit", visit["id"]), []),
                )
            )
        return rows

    def now(self) -> datetime:
        """The phone's time, corrected by what it learnt from the server."""
        return self.phone.now()

    def _photos(self, household_id: str | None) -> Photos:
        """The photos of a household's records (or of all), with their thumbnails."""
        return {
            record: [
                PhotoView(photo["id"], photo["sha256"], self.phone.photo_thumbnail(photo["sha256"]))
                for photo in photos
            ]
            for record, photos in self.phone.photos_by_record(household_id).items()
        }

    # --- photos (their bytes; the records' photos come with the views above) ---

    def photo_data(self, sha256: str) -> bytes | None:
        return self.phone.photo_data(sha256)

    def fetch_photo(self, sha256: str) -> bytes:
        """Full size from the server (network: the app calls it on its network thread)."""
        return self.phone.fetch_photo(sha256)

    def _places(self) -> dict[str, tuple[str, str]]:
        """grid id -> (village name, grid name)."""
        villages = {v["id"]: v["name"] for v in self.phone.store.records("village")}
        return {
            grid["id"]: (villages.get(grid["village_id"], ""), grid["name"])
            for grid in self.phone.store.records("grid")
        }

    def _card(self, household_id: str) -> ContactCard:
        """The household's card: its cadre now (an inspector's phone has the
        households' links), else the cadre whose phone this is."""
        store = self.phone.store
        current = [
            link["cadre_id"]
            for link in store.records("household_link", household_id)
            if not link.get("ended_at")
        ]
        cadre_id = current[0] if current else self.phone.account.get("cadre_id")
        cadre = store.record("cadre", str(cadre_id or "")) or {}
        unit = store.record("work_unit", str(cadre.get("unit_id") or "")) or {}
        numbers = [n for county in store.records("county") for n in county["service_numbers"]]
        return ContactCard(
            unit=unit.get("name", ""),
            cadre_name=cadre.get("name", ""),
            cadre_phone=cadre.get("phone", ""),
            service_numbers=numbers,
        )

    # --- writing (each is one atomic local commit) ----------------------------

    def record_visit(self, household_id: str, **visit: Any) -> str:
        return self.phone.record_visit(household_id, **visit)

    def edit_household(self, household_id: str, **changes: Any) -> None:
        self.phone.edit_household(household_id, **changes)

    def follow_up(self, issue_id: str, **event: Any) -> str:
        return self.phone.follow_up(issue_id, **event)

    def record_inspection(self, household_id: str, **answers: Any) -> str:
        return self.phone.record_inspection(household_id, **answers)

    # --- sync --------------------------------------------------------------------

    def sync(
        self, progress: Progress, sleep: Callable[[float], Any], retry_delay: float
    ) -> SyncOutcome:
        """Push the outbox and pull the scope, retrying a few times; never raises
        for a network or server failure (the outcome says what went wrong)."""
        self.phone.engine.progress = progress
        before = self._pending_kinds()
        server_url = self.phone.store.get_meta("server_url")
        try:
            report = self.phone.sync_with_retry(
                attempts=SYNC_ATTEMPTS, base_delay=retry_delay, sleep=sleep
            )
        except AuthError as revoked:
            report = SyncReport(error=str(revoked), revoked=True)
        except TransportError as failure:  # a refusal (4xx): not worth retrying as is
            report = SyncReport(error=str(failure), failure=failure)
        if report.lost:
            # Reported lost: the store is erased; a new, empty one takes its place.
            self.phone = Phone(self.path, server_url, cafile=self.cafile)
            return SyncOutcome(report=report, sent={}, names={}, status=self.status())
        sent = before - self._pending_kinds()
        return SyncOutcome(
            report=report,
            sent=dict(sent),
            names=self._conflict_names(report.conflicts),
            status=self.status(),
            rejected=self.phone.store.outbox("rejected"),
            rejected_photos=self.phone.store.photos_in_state("rejected"),
        )

    def _pending_kinds(self) -> Counter[str]:
        return Counter(entry.kind for entry in self.phone.store.pending(ALL_PENDING))

    def _conflict_names(self, conflicts: Iterable[dict[str, Any]]) -> dict[str, str]:
        """Which household each conflicting change was about, by its head's name."""
        wanted = {result.get("change_id") for result in conflicts}
        names = {}
        for entry in self.phone.store.outbox("done"):
            if entry["change_id"] in wanted and entry["household_id"]:
                household = self.phone.household(entry["household_id"]) or {}
                names[entry["change_id"]] = household.get("head_name", "")
        return names
