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
    return {
        "account_id": actor.account_id,
        "device_id": actor.device_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "changes": _jsonable({**(changes or {}), **({"via": actor.via} if actor.via else {})}),
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
