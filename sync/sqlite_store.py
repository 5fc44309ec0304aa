"""The phone's local store on SQLite (the standard library's sqlite3).

One file holds the pulled records, the outbox and a few settings. Writes
are short transactions in WAL mode with full fsync, so a phone that is
killed or loses power keeps every operation it finished and none it did not.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sync.store import OutboxEntry

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS record (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    household_id TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS record_by_household ON record (household_id, kind);
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    op TEXT NOT NULL,
    record_id TEXT NOT NULL,
    household_id TEXT,
    stamp TEXT NOT NULL,
    base_seq INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL,
    -- pending until the server answers, then done or rejected (kept to show)
    state TEXT NOT NULL DEFAULT 'pending',
    result TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, position);
"""

# A record saved on the phone: kind, id, household id, its data as shown.
Local = tuple[str, str, str | None, dict[str, Any]]
# What a local save writes: records, the changes to send, settings.
LocalWrite = tuple[Sequence[Local], Sequence[OutboxEntry], dict[str, str | None]]

# Pulled records come by the thousand: one encoder, made once, stores them.
_encode = json.JSONEncoder(ensure_ascii=False).encode

# Records that belong to one household (the rest are villages, cadres, ...).
HOUSEHOLD_KINDS = ("household", "household_link", "visit", "issue", "issue_event", "inspection")


class SQLiteStore:
    """The store of sync/store.py on one SQLite file, safe to share across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._transaction() as db:
            for statement in _statements(SCHEMA):
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    # --- settings ----------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows and rows[0]["value"] is not None else default

    def set_meta(self, values: dict[str, str | None]) -> None:
        with self._transaction() as db:
            _set_meta(db, values)

    # --- local writes --------------------------------------------------------

    def commit_local(
        self,
        records: Sequence[Local],
        changes: Sequence[OutboxEntry],
        meta: dict[str, str | None],
    ) -> None:
        """Save records made on the phone and their outbox entries, atomically."""
        with self._transaction() as db:
            _write_local(db, records, changes, meta)

    def commit_edit(
        self, kind: str, record_id: str, edit: Callable[[dict[str, Any]], LocalWrite]
    ) -> None:
        """Save what follows from a stored record, read and written in one transaction.

        ``edit`` gets the record as stored (with its id and seq) and returns
        what ``commit_local`` takes: the records to save, the changes to queue
        and settings. Nothing writes in between, so two edits made at once (two
        taps, or a save while a sync stores a page) both keep: the second is
        made on the first.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT seq, data FROM record WHERE kind = ? AND id = ?", (kind, record_id)
            ).fetchone()
            if row is None:
                raise KeyError(f"{kind} {record_id} is not on this phone")
            _write_local(db, *edit({"id": record_id, "seq": row[0], **json.loads(row[1])}))

    # --- reads for the app ---------------------------------------------------

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT seq, data FROM record WHERE kind = ? AND id = ?", (kind, record_id)
        )
        if not rows:
            return None
        return {"id": record_id, "seq": rows[0]["seq"], **json.loads(rows[0]["data"])}

    def records(self, kind: str, household_id: str | None = None) -> list[dict[str, Any]]:
        if household_id is None:
            rows = self._query("SELECT id, seq, data FROM record WHERE kind = ?", (kind,))
        else:
            rows = self._query(
                "SELECT id, seq, data FROM record WHERE kind = ? AND household_id = ?",
                (kind, household_id),
            )
        return [{"id": row["id"], "seq": row["seq"], **json.loads(row["data"])} for row in rows]

    def outbox(self, state: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT change_id, kind, op, record_id, household_id, record, result FROM outbox"
            " WHERE state = ? ORDER BY position",
            (state,),
        )
        return [
            {
                **dict(row),
                "record": json.loads(row["record"]),
                "result": json.loads(row["result"]) if row["result"] else None,
            }
            for row in rows
        ]

    # --- the engine's side ---------------------------------------------------

    def pending(self, limit: int) -> list[OutboxEntry]:
        rows = self._query(
            "SELECT change_id, kind, op, record_id, household_id, stamp, base_seq, record"
            " FROM outbox WHERE state = 'pending' ORDER BY position LIMIT ?",
            (limit,),
        )
        return [
            OutboxEntry(
                change_id=row["change_id"],
                kind=row["kind"],
                op=row["op"],
                record_id=row["record_id"],
                household_id=row["household_id"],
                stamp=row["stamp"],
                base_seq=row["base_seq"],
                record=json.loads(row["record"]),
            )
            for row in rows
        ]

    def pending_count(self) -> int:
        return int(self._query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0])

    def acknowledge(self, results: Sequence[dict[str, Any]]) -> None:
        with self._transaction() as db:
            for result in results:
                state = "rejected" if result.get("status") == "rejected" else "done"
                db.execute(
                    "UPDATE outbox SET state = ?, result = ? WHERE change_id = ? AND state = 'pending'",
                    (state, json.dumps(result, ensure_ascii=False), result.get("change_id")),
                )
        # Acknowledged changes stay: a server restored from a backup may lack
        # them, and then they are sent again (resend_all).

    def resend_all(self, epoch: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET state = 'pending', result = NULL WHERE state = 'done'")
            # The restored server numbers anew: its versions must replace the
            # phone's whatever their seq (see _upsert_pulled).
            db.execute("UPDATE record SET seq = 0")
            _set_meta(db, {"cursor": None, "server_epoch": epoch})

    def held_versions(
        self, items: Sequence[dict[str, Any]]
    ) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
        """The seq and data this phone holds of each of the pulled ``items`` it has."""
        held: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        wanted: dict[str, set[str]] = {}
        for item in items:
            wanted.setdefault(item["kind"], set()).add(str(item["id"]))
        for kind, kind_ids in wanted.items():
            ids = sorted(kind_ids)
            # By kind and id, the primary key; in slices: SQLite limits the
            # parameters of one statement.
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                for record_id, seq, data in self._query(
                    "SELECT id, seq, data FROM record WHERE kind = ?"
                    f" AND id IN ({', '.join('?' * len(part))})",
                    (kind, *part),
                ):
                    held[(kind, record_id)] = (seq, json.loads(data))
        return held

    def held_households(self) -> list[str]:
        return [row[0] for row in self._query("SELECT id FROM record WHERE kind = 'household'")]

    def apply_page(
        self, records: Sequence[dict[str, Any]], evict: Sequence[str], cursor: str
    ) -> list[str]:
        with self._transaction() as db:
            # Issues before their events, so an event finds its household.
            events = [item for item in records if item["kind"] == "issue_event"]
            _upsert_pulled(db, [item for item in records if item["kind"] != "issue_event"])
            _upsert_pulled(db, events)
            kept = []
            for household_id in evict:
                if _has_pending(db, household_id):
                    kept.append(household_id)
                else:
                    db.execute("DELETE FROM record WHERE household_id = ?", (household_id,))
            _set_meta(db, {"cursor": cursor})
        return kept


def _write_local(
    db: sqlite3.Connection,
    records: Sequence[Local],
    changes: Sequence[OutboxEntry],
    meta: dict[str, str | None],
) -> None:
    for kind, record_id, household_id, data in records:
        db.execute(
            "INSERT INTO record (kind, id, seq, household_id, data) VALUES (?, ?, 0, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
            (kind, record_id, household_id, json.dumps(data, ensure_ascii=False)),
        )
    for change in changes:
        _queue(db, change)
    _set_meta(db, meta)


def _statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


def _set_meta(db: sqlite3.Connection, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _queue(db: sqlite3.Connection, change: OutboxEntry) -> None:
    db.execute(
        "INSERT INTO outbox (change_id, kind, op, record_id, household_id, stamp,"
        " base_seq, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            change.change_id,
            change.kind,
            change.op,
            change.record_id,
            change.household_id,
            change.stamp,
            change.base_seq,
            json.dumps(change.record, ensure_ascii=False),
        ),
    )


def _has_pending(db: sqlite3.Connection, household_id: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM outbox WHERE household_id = ? AND state = 'pending' LIMIT 1",
            (household_id,),
        ).fetchone()
        is not None
    )


def _upsert_pulled(db: sqlite3.Connection, items: Sequence[dict[str, Any]]) -> None:
    """Store pulled records, in order, with one statement for the lot."""
    if not items:
        return
    households = _households_of_events(db, items)
    pending = _pending_household_edits(db, items)
    rows = []
    for item in items:
        kind, data = item["kind"], item["data"]
        if kind == "household":
            # Never overwrite what the cadre changed and has not yet sent: lay
            # the pending edits over the server's version (they win or lose on push).
            data = dict(data)
            for edit in pending.get(item["id"], []):
                data.update({k: v for k, v in edit.items() if k != "id"})
            household_id: str | None = str(item["id"])
        elif kind == "issue_event":
            household_id = households.get(data["issue_id"])
        elif kind in HOUSEHOLD_KINDS and data.get("household_id"):
            household_id = str(data["household_id"])
        else:
            household_id = None
        rows.append((kind, item["id"], item["seq"], household_id, _encode(data)))
    db.executemany(
        "INSERT INTO record (kind, id, seq, household_id, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq,"
        " household_id = excluded.household_id, data = excluded.data"
        " WHERE excluded.seq >= record.seq",
        rows,
    )


def _households_of_events(
    db: sqlite3.Connection, items: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """The household of each problem the issue events among ``items`` belong to."""
    issues = sorted({item["data"]["issue_id"] for item in items if item["kind"] == "issue_event"})
    found: dict[str, str] = {}
    # In slices: SQLite limits the parameters of one statement.
    for start in range(0, len(issues), 500):
        part = issues[start : start + 500]
        found.update(
            (str(issue_id), str(household_id))
            for issue_id, household_id in db.execute(
                "SELECT id, household_id FROM record WHERE kind = 'issue' AND household_id"
                f" IS NOT NULL AND id IN ({', '.join('?' * len(part))})",
                part,
            )
        )
    return found


def _pending_household_edits(
    db: sqlite3.Connection, items: Sequence[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The unsent edits of each household among ``items``, oldest first."""
    edits: dict[str, list[dict[str, Any]]] = {}
    if any(item["kind"] == "household" for item in items):
        for record_id, record in db.execute(
            "SELECT record_id, record FROM outbox WHERE kind = 'household'"
            " AND state = 'pending' ORDER BY position"
        ):
            edits.setdefault(record_id, []).append(json.loads(record))
    return edits
