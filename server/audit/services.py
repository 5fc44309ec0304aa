"""Writing the audit trail. Every service that changes the ledger calls ``record``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from server.audit.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is making a change: an account, from a device, or the system itself."""

    account_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    # How the system acted when there is no account (e.g. "cli", "demo").
    via: str = ""


SYSTEM = Actor(via="cli")

# The actions that change fields of an existing record: their entries hold
# field -> [old, new]. Every other action's entry holds the facts it set or
# acted on, field -> value (a create: the new record). One shape per action,
# whoever writes it (console, sync, import), so readers never guess.
CHANGE_ACTIONS = frozenset({"update", "link"})


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(**entry_values(actor, action, entity, entity_id, changes))
    session.add(entry)
    return entry


def entry_values(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit entry's columns, for ``record`` and for writers that insert rows in bulk."""
    if action in CHANGE_ACTIONS:
        for name, change in (changes or {}).items():
            if not (isinstance(change, list | tuple) and len(change) == 2):
                raise ValueError(f"a {action} entry holds [old, new] per field; {name}: {change!r}")
    return {
        "account_id": actor.account_id,
        "device_id": actor.device_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "changes": _jsonable({**(changes or {}), **({"via": actor.via} if actor.via else {})}),
    }


def field_changes(action: str, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """An entry's fields as (old, new): a change action's pairs, or (None, value) for the rest."""
    return {
        name: (change[0], change[1]) if action in CHANGE_ACTIONS else (None, change)
        for name, change in changes.items()
        if name != "via"
    }


def _jsonable(value: Any) -> Any:
    """UUIDs, times, decimals and enums as the strings JSON can hold."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
