"""The phone's local store on SQLite (the standard library's sqlite3).

One file holds the pulled records, the outbox and a few settings. Writes
are short transactions in WAL mode with full fsync, so a phone that is
killed or loses power keeps every operation it finished and none it did not.

Once unlocked with its key (sync/vault.py), the store seals every payload:
records' data, outbox entries and their results, and the secret settings
(the device token, the account). Kinds, ids, household ids, seqs and states
stay clear for the queries. Freed pages are zeroed (secure_delete), so no
plain copy lingers after a record is sealed or dropped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.store import OutboxEntry, pulled_data, pulled_value
from sync.vault import Codec, Wrapped

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
-- A photo's bytes by content (sync/phone.py attach_photo): its record is in
-- record (kind 'photo'). data is NULL until fetched (a pulled photo).
-- state: 'local' (its record not yet applied), 'to_send' (bytes to upload),
-- 'sent', 'remote' (the server's), 'rejected' (message says why).
CREATE TABLE IF NOT EXISTS photo_file (
    sha256 TEXT PRIMARY KEY,
    household_id TEXT,
    size INTEGER NOT NULL,
    thumbnail BLOB,
    data BLOB,
    -- Whether thumbnail and data are sealed with the store's key.
    sealed INTEGER NOT NULL DEFAULT 0,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS photo_file_by_state ON photo_file (state);
-- The store's key, wrapped by the PIN ('pin') and by the password ('password').
CREATE TABLE IF NOT EXISTS vault (
    name TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    n INTEGER NOT NULL,
    r INTEGER NOT NULL,
    p INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
"""

# A record saved on the phone: kind, id, household id, its data as shown.
Local = tuple[str, str, str | None, dict[str, Any]]
# What a local save writes: records, the changes to send, settings.
LocalWrite = tuple[Sequence[Local], Sequence[OutboxEntry], dict[str, str | None]]


@dataclass(frozen=True)
class PhotoFile:
    """A photo's bytes as the phone keeps them (table photo_file)."""

    sha256: str
    household_id: str | None
    size: int
    thumbnail: bytes | None
    data: bytes | None
    state: str


# Pulled records come by the thousand: one encoder, made once, stores them.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _pulled_text(item: dict[str, Any]) -> str:
    """A pulled record's data as JSON text, to store: as it came if it came so."""
    text = item.get("text")
    return text if text is not None else _encode(item["data"])


# Records that belong to one household (the rest are villages, cadres, ...).
HOUSEHOLD_KINDS = (
    "household",
    "household_link",
    "visit",
    "issue",
    "issue_event",
    "inspection",
    "photo",
)

# What the phone knows of a photo's bytes (table photo_file).
PHOTO_STATES = ("local", "to_send", "sent", "remote", "rejected")

# Settings sealed like records: the token opens the server's data, the account names the cadre.
SECRET_META = frozenset({"token", "account"})


class SQLiteStore:
    """The store of sync/store.py on one SQLite file, safe to share across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA secure_delete=ON")
        with self._transaction() as db:
            for statement in _statements(SCHEMA):
                db.execute(statement)
        self._codec = Codec(required=bool(self._query("SELECT 1 FROM vault LIMIT 1")))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def erase(self) -> None:
        """Close the store and delete its files (a lost phone). Its key, held
        only in memory and wrapped in the file, goes with them."""
        with self._lock:
            self._db.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.path + suffix).unlink(missing_ok=True)

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
        if not rows or rows[0]["value"] is None:
            return default
        return self._codec.open(rows[0]["value"], f"meta:{key}")

    def has_meta(self, key: str) -> bool:
        """Whether setting ``key`` is set (answered while locked too)."""
        return bool(self._query("SELECT 1 FROM meta WHERE key = ? AND value IS NOT NULL", (key,)))

    def set_meta(self, values: dict[str, str | None]) -> None:
        with self._transaction() as db:
            _set_meta(db, self._codec, values)

    # --- the key -------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return self._codec.sealing

    @property
    def key(self) -> bytes | None:
        return self._codec.key

    def wrapped(self, name: str) -> Wrapped | None:
        rows = self._query("SELECT salt, n, r, p, sealed FROM vault WHERE name = ?", (name,))
        return Wrapped(*rows[0]) if rows else None

    def save_wrapped(self, name: str, wrapped: Wrapped | None) -> None:
        """Keep (or with ``None``, forget) the key as wrapped by ``name``."""
        with self._transaction() as db:
            db.execute("DELETE FROM vault WHERE name = ?", (name,))
            if wrapped is not None:
                db.execute(
                    "INSERT INTO vault (name, salt, n, r, p, sealed) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, wrapped.salt, wrapped.n, wrapped.r, wrapped.p, wrapped.sealed),
                )

    def unlock(self, key: bytes) -> None:
        """Use ``key`` from now on; seal whatever a store from before encryption
        held in plain text, and leave no plain copy in the files."""
        with self._lock:
            codec = Codec(key, required=True)
            with self._transaction() as db:
                sealed = _seal_plain(db, codec)
            self._codec = codec
            if sealed:
                # Rebuilt and checkpointed: the old plain pages leave the db and the -wal.
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def lock(self) -> None:
        """Forget the key: payloads can no longer be read or written."""
        with self._lock:
            self._codec = Codec(required=True)

    # --- local writes --------------------------------------------------------

    def commit_local(
        self,
        records: Sequence[Local],
        changes: Sequence[OutboxEntry],
        meta: dict[str, str | None],
        photos: Sequence[PhotoFile] = (),
    ) -> None:
        """Save records made on the phone, their outbox entries and the bytes
        of their photos, atomically."""
        with self._transaction() as db:
            _write_local(db, self._codec, records, changes, meta)
            for photo in photos:
                _save_photo_file(db, self._codec, photo)

    # --- photos' bytes -------------------------------------------------------

    def photo_file(self, sha256: str) -> PhotoFile | None:
        rows = self._query(
            "SELECT household_id, size, thumbnail, data, sealed, state FROM photo_file"
            " WHERE sha256 = ?",
            (sha256,),
        )
        if not rows:
            return None
        row = rows[0]
        thumbnail, data = (
            None
            if row[part] is None
            else self._codec.open_bytes(row[part], bool(row["sealed"]), f"photo:{sha256}:{part}")
            for part in ("thumbnail", "data")
        )
        return PhotoFile(sha256, row["household_id"], row["size"], thumbnail, data, row["state"])

    def photos_in_state(self, *states: str) -> list[dict[str, Any]]:
        """sha256, size, uploaded_bytes, state and message of the photos in ``states``."""
        return [
            dict(row)
            for row in self._query(
                "SELECT sha256, size, uploaded_bytes, state, message FROM photo_file"
                f" WHERE state IN ({', '.join('?' * len(states))}) ORDER BY rowid",
                states,
            )
        ]

    def set_photo_state(
        self,
        sha256: str,
        state: str,
        *,
        uploaded_bytes: int | None = None,
        message: str | None = None,
        was: Sequence[str] = (),
    ) -> None:
        """Move a photo's bytes to ``state`` (only from one of ``was``, if given)."""
        was_states = tuple(was) or PHOTO_STATES
        with self._transaction() as db:
            db.execute(
                "UPDATE photo_file SET state = ?, message = ?,"
                " uploaded_bytes = COALESCE(?, uploaded_bytes)"
                f" WHERE sha256 = ? AND state IN ({', '.join('?' * len(was_states))})",
                (state, message, uploaded_bytes, sha256, *was_states),
            )

    def thumbnails_to_fetch(self) -> list[str]:
        """The photos pulled from the server whose thumbnails the phone lacks."""
        rows = self._query(
            "SELECT sha256 FROM photo_file WHERE state = 'remote' AND thumbnail IS NULL"
            " ORDER BY rowid"
        )
        return [row[0] for row in rows]

    def save_photo_bytes(
        self, sha256: str, *, thumbnail: bytes | None = None, data: bytes | None = None
    ) -> None:
        """Keep what was fetched of a pulled photo: its thumbnail or its bytes."""
        with self._transaction() as db:
            for part, value in (("thumbnail", thumbnail), ("data", data)):
                if value is None:
                    continue
                stored = self._codec.seal_bytes(value, f"photo:{sha256}:{part}")
                db.execute(f"UPDATE photo_file SET {part} = ? WHERE sha256 = ?", (stored, sha256))

    def commit_edit(
        self,
        kind: str,
        record_id: str,
        edit: Callable[[dict[str, Any]], LocalWrite],
        photos: Sequence[PhotoFile] = (),
    ) -> None:
        """Save what follows from a stored record, read and written in one transaction.

        ``edit`` gets the record as stored (with its id and seq) and returns
        what ``commit_local`` takes: the records to save, the changes to queue
        and settings. Nothing writes in between, so two edits made at once (two
        taps, or a save while a sync stores a page) both keep: the second is
        made on the first. ``photos`` are the bytes of the photos it adds.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT seq, data FROM record WHERE kind = ? AND id = ?", (kind, record_id)
            ).fetchone()
            if row is None:
                raise KeyError(f"{kind} {record_id} is not on this phone")
            stored = json.loads(self._codec.open(row[1], f"record:{kind}:{record_id}"))
            _write_local(db, self._codec, *edit({"id": record_id, "seq": row[0], **stored}))
            for photo in photos:
                _save_photo_file(db, self._codec, photo)

    # --- reads for the app ---------------------------------------------------

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT seq, data FROM record WHERE kind = ? AND id = ?", (kind, record_id)
        )
        if not rows:
            return None
        data = self._codec.open(rows[0]["data"], f"record:{kind}:{record_id}")
        return {"id": record_id, "seq": rows[0]["seq"], **json.loads(data)}

    def records(self, kind: str, household_id: str | None = None) -> list[dict[str, Any]]:
        if household_id is None:
            rows = self._query("SELECT id, seq, data FROM record WHERE kind = ?", (kind,))
        else:
            rows = self._query(
                "SELECT id, seq, data FROM record WHERE kind = ? AND household_id = ?",
                (kind, household_id),
            )
        open_ = self._codec.open
        return [
            {
                "id": row["id"],
                "seq": row["seq"],
                **json.loads(open_(row["data"], f"record:{kind}:{row['id']}")),
            }
            for row in rows
        ]

    def outbox(self, state: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT change_id, kind, op, record_id, household_id, record, result FROM outbox"
            " WHERE state = ? ORDER BY position",
            (state,),
        )
        open_ = self._codec.open
        return [
            {
                **dict(row),
                "record": json.loads(open_(row["record"], f"outbox:{row['change_id']}")),
                "result": (
                    json.loads(open_(row["result"], f"result:{row['change_id']}"))
                    if row["result"]
                    else None
                ),
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
                record=json.loads(self._codec.open(row["record"], f"outbox:{row['change_id']}")),
            )
            for row in rows
        ]

    def pending_count(self) -> int:
        return int(self._query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0])

    def acknowledge(self, results: Sequence[dict[str, Any]]) -> None:
        with self._transaction() as db:
            for result in results:
                state = "rejected" if result.get("status") == "rejected" else "done"
                change_id = result.get("change_id")
                text = json.dumps(result, ensure_ascii=False)
                db.execute(
                    "UPDATE outbox SET state = ?, result = ? WHERE change_id = ? AND state = 'pending'",
                    (state, self._codec.seal(text, f"result:{change_id}"), change_id),
                )
        # Acknowledged changes stay: a server restored from a backup may lack
        # them, and then they are sent again (resend_all).

    def resend_all(self, epoch: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET state = 'pending', result = NULL WHERE state = 'done'")
            # The restored server numbers anew: its versions must replace the
            # phone's whatever their seq (see _upsert_pulled).
            db.execute("UPDATE record SET seq = 0")
            # Its photos' bytes may be lost with it: asked about (HEAD) again.
            db.execute(
                "UPDATE photo_file SET state = 'local', uploaded_bytes = 0"
                " WHERE state IN ('to_send', 'sent')"
            )
            _set_meta(db, self._codec, {"cursor": None, "server_epoch": epoch})

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
                    context = f"record:{kind}:{record_id}"
                    held[(kind, record_id)] = (seq, json.loads(self._codec.open(data, context)))
        return held

    def held_households(self) -> list[str]:
        return [row[0] for row in self._query("SELECT id FROM record WHERE kind = 'household'")]

    def apply_page(
        self, records: Sequence[dict[str, Any]], evict: Sequence[str], cursor: str
    ) -> list[str]:
        with self._transaction() as db:
            # Issues before their events, so an event finds its household.
            events = [item for item in records if item["kind"] == "issue_event"]
            _upsert_pulled(db, self._codec, [i for i in records if i["kind"] != "issue_event"])
            _upsert_pulled(db, self._codec, events)
            kept = []
            for household_id in evict:
                if _has_pending(db, household_id):
                    kept.append(household_id)
                else:
                    db.execute("DELETE FROM record WHERE household_id = ?", (household_id,))
                    db.execute("DELETE FROM photo_file WHERE household_id = ?", (household_id,))
            _set_meta(db, self._codec, {"cursor": cursor})
        return kept


def _write_local(
    db: sqlite3.Connection,
    codec: Codec,
    records: Sequence[Local],
    changes: Sequence[OutboxEntry],
    meta: dict[str, str | None],
) -> None:
    for kind, record_id, household_id, data in records:
        db.execute(
            "INSERT INTO record (kind, id, seq, household_id, data) VALUES (?, ?, 0, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
            (
                kind,
                record_id,
                household_id,
                codec.seal(json.dumps(data, ensure_ascii=False), f"record:{kind}:{record_id}"),
            ),
        )
    for change in changes:
        _queue(db, codec, change)
    _set_meta(db, codec, meta)


def _save_photo_file(db: sqlite3.Connection, codec: Codec, photo: PhotoFile) -> None:
    """Keep a photo's bytes; those already kept (the same photo again) stay as they are."""
    parts = _photo_parts(codec, photo.sha256, photo.thumbnail, photo.data)
    db.execute(
        "INSERT INTO photo_file (sha256, household_id, size, thumbnail, data, sealed, state)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        (photo.sha256, photo.household_id, photo.size, *parts, int(codec.sealing), photo.state),
    )


def _photo_parts(
    codec: Codec, sha256: str, thumbnail: bytes | None, data: bytes | None
) -> list[bytes | None]:
    """A photo's thumbnail and bytes as stored: sealed, each bound to its row and part."""
    return [
        None if value is None else codec.seal_bytes(value, f"photo:{sha256}:{part}")
        for part, value in (("thumbnail", thumbnail), ("data", data))
    ]


def _statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


def _set_meta(db: sqlite3.Connection, codec: Codec, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        stored = codec.seal(value, f"meta:{key}") if key in SECRET_META and value else value
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, stored),
        )


def _seal_plain(db: sqlite3.Connection, codec: Codec) -> int:
    """Seal the payloads still in plain text (a store from before encryption); how many."""
    sealed = 0
    for kind, record_id, data in db.execute(
        "SELECT kind, id, data FROM record WHERE typeof(data) = 'text'"
    ).fetchall():
        db.execute(
            "UPDATE record SET data = ? WHERE kind = ? AND id = ?",
            (codec.seal(data, f"record:{kind}:{record_id}"), kind, record_id),
        )
        sealed += 1
    for column, context in (("record", "outbox"), ("result", "result")):
        for change_id, text in db.execute(
            f"SELECT change_id, {column} FROM outbox WHERE typeof({column}) = 'text'"
        ).fetchall():
            db.execute(
                f"UPDATE outbox SET {column} = ? WHERE change_id = ?",
                (codec.seal(text, f"{context}:{change_id}"), change_id),
            )
            sealed += 1
    for key, value in db.execute(
        "SELECT key, value FROM meta WHERE typeof(value) = 'text'"
        f" AND key IN ({', '.join('?' * len(SECRET_META))})",
        sorted(SECRET_META),
    ).fetchall():
        _set_meta(db, codec, {key: value})
        sealed += 1
    for sha256, thumbnail, data in db.execute(
        "SELECT sha256, thumbnail, data FROM photo_file WHERE sealed = 0"
    ).fetchall():
        db.execute(
            "UPDATE photo_file SET thumbnail = ?, data = ?, sealed = 1 WHERE sha256 = ?",
            (*_photo_parts(codec, sha256, thumbnail, data), sha256),
        )
        sealed += 1
    return sealed


def _queue(db: sqlite3.Connection, codec: Codec, change: OutboxEntry) -> None:
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
            codec.seal(json.dumps(change.record, ensure_ascii=False), f"outbox:{change.change_id}"),
        ),
    )


def _has_pending(db: sqlite3.Connection, household_id: str) -> bool:
    """Whether the household has changes or photos' bytes still to send."""
    return (
        db.execute(
            "SELECT 1 FROM outbox WHERE household_id = ? AND state = 'pending'"
            " UNION ALL SELECT 1 FROM photo_file WHERE household_id = ?"
            " AND state IN ('local', 'to_send') LIMIT 1",
            (household_id, household_id),
        ).fetchone()
        is not None
    )


def _upsert_pulled(db: sqlite3.Connection, codec: Codec, items: Sequence[dict[str, Any]]) -> None:
    """Store pulled records, in order, with one statement for the lot."""
    if not items:
        return
    households = _households_of_events(db, items)
    pending = _pending_household_edits(db, codec, items)
    rows = []
    for item in items:
        kind = item["kind"]
        household_id: str | None = None
        if kind == "household":
            # Never overwrite what the cadre changed and has not yet sent: lay
            # the pending edits over the server's version (they win or lose on push).
            data = dict(pulled_data(item))
            for edit in pending.get(item["id"], []):
                data.update({k: v for k, v in edit.items() if k != "id"})
            household_id, text = str(item["id"]), _encode(data)
        else:
            text = _pulled_text(item)
            if kind == "issue_event":
                household_id = households.get(pulled_data(item)["issue_id"])
            elif kind in HOUSEHOLD_KINDS and (household := pulled_value(item, "household_id")):
                household_id = str(household)
        context = f"record:{kind}:{item['id']}"
        rows.append((kind, item["id"], item["seq"], household_id, codec.seal(text, context)))
    db.executemany(
        "INSERT INTO record (kind, id, seq, household_id, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq,"
        " household_id = excluded.household_id, data = excluded.data"
        " WHERE excluded.seq >= record.seq",
        rows,
    )
    photos = [pulled_data(item) for item in items if item["kind"] == "photo"]
    # A pulled photo's bytes are the server's: fetched later (its own are kept).
    db.executemany(
        "INSERT INTO photo_file (sha256, household_id, size, sealed, state)"
        " VALUES (?, ?, ?, ?, 'remote') ON CONFLICT (sha256) DO NOTHING",
        [
            (photo["sha256"], photo["household_id"], photo["size"], int(codec.sealing))
            for photo in photos
            if not photo.get("deleted_at")
        ],
    )
    # A deleted one's thumbnail goes (the phone's own bytes stay until sent).
    db.executemany(
        "DELETE FROM photo_file WHERE sha256 = ? AND state = 'remote'",
        [(photo["sha256"],) for photo in photos if photo.get("deleted_at")],
    )


def _households_of_events(
    db: sqlite3.Connection, items: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """The household of each issue the issue events among ``items`` belong to."""
    issues = sorted(
        {pulled_data(item)["issue_id"] for item in items if item["kind"] == "issue_event"}
    )
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
    db: sqlite3.Connection, codec: Codec, items: Sequence[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The unsent edits of each household among ``items``, oldest first."""
    edits: dict[str, list[dict[str, Any]]] = {}
    if any(item["kind"] == "household" for item in items):
        for change_id, record_id, record in db.execute(
            "SELECT change_id, record_id, record FROM outbox WHERE kind = 'household'"
            " AND state = 'pending' ORDER BY position"
        ):
            text = codec.open(record, f"outbox:{change_id}")
            edits.setdefault(record_id, []).append(json.loads(text))
    return edits
