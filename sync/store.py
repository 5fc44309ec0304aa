"""What the sync engine needs from a phone's local store.

The store keeps two things: the records pulled from the server (with the
phone's own pending changes laid over them), and the outbox of changes not
yet acknowledged by the server. Every method is one local transaction, so a
phone killed at any moment keeps either all of an operation or none of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.protocol import FIELDS_BESIDE_TEXT


@dataclass(frozen=True)
class OutboxEntry:
    """A change recorded on the phone and not yet acknowledged by the server."""

    change_id: str
    kind: str
    op: str
    record_id: str
    household_id: str | None
    stamp: str
    base_seq: int
    record: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "kind": self.kind,
            "op": self.op,
            "stamp": self.stamp,
            "record": self.record,
            "base_seq": self.base_seq,
        }


# A pulled record comes with its data as an object ("data"), or as JSON text
# ("text") with FIELDS_BESIDE_TEXT beside it (shared/protocol.py): the phone
# reads the text only when it needs more than those, and stores it as it came
# (sqlite_store.py).


def pulled_data(item: dict[str, Any]) -> dict[str, Any]:
    """A pulled record's data (its text read once, when first needed)."""
    if "data" not in item:
        item["data"] = json.loads(item["text"])
    data: dict[str, Any] = item["data"]
    return data


def pulled_value(item: dict[str, Any], name: str) -> Any:
    """One field of a pulled record's data, read from beside its text if it is there."""
    if "data" not in item and name in FIELDS_BESIDE_TEXT:
        return item.get(name)
    return pulled_data(item).get(name)


class Store(Protocol):
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    def set_meta(self, values: dict[str, str | None]) -> None: ...

    def pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest unacknowledged changes, in the order they were made."""
        ...

    def pending_count(self) -> int: ...

    def acknowledge(self, results: Sequence[dict[str, Any]]) -> None:
        """Record the server's results: acknowledged changes leave the outbox."""
        ...

    def resend_all(self, epoch: str) -> None:
        """Start over with a server restored to an earlier point (epoch ``epoch``).

        Every acknowledged change goes back to the outbox, in the order it was
        made, the cursor is forgotten, and every pulled record will take
        whatever version the server sends, whatever its seq.
        """
        ...

    def held_versions(
        self, items: Sequence[dict[str, Any]]
    ) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
        """The seq and data held of each of the pulled records the store has, by (kind, id)."""
        ...

    def held_households(self) -> list[str]: ...

    def apply_page(
        self, records: Sequence[dict[str, Any]], evict: Sequence[str], cursor: str
    ) -> list[str]:
        """Store a pulled page and its cursor in one transaction.

        Returns the evicted households it could not drop yet because they
        still have pending changes.
        """
        ...

    # --- photos' bytes (they travel after their records) ---------------------

    def photos_in_state(self, *states: str) -> list[dict[str, Any]]:
        """sha256, size, uploaded_bytes, state and message of the photos in ``states``."""
        ...

    def photo_file(self, sha256: str) -> Any:
        """A photo's bytes as kept (sync/sqlite_store.py PhotoFile), or None."""
        ...

    def set_photo_state(
        self,
        sha256: str,
        state: str,
        *,
        uploaded_bytes: int | None = None,
        message: str | None = None,
        was: Sequence[str] = (),
    ) -> None: ...

    def thumbnails_to_fetch(self) -> list[str]: ...

    def save_photo_bytes(
        self, sha256: str, *, thumbnail: bytes | None = None, data: bytes | None = None
    ) -> None: ...
