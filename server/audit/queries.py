"""Reading who did something: an account, or a device and the account that owns it.

An audit entry, an issue's step and each side of a conflict name their actor
by account id and device id; ``with_actor`` joins the names the pages show.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import aliased

from server.accounts.models import Account, Device
from server.audit.models import AuditEntry


def with_actor(
    query: Select[Any],
    account_id: ColumnElement[Any],
    device_id: ColumnElement[Any],
    prefix: str = "",
) -> Select[Any]:
    """``query`` with the actor's names outer-joined as three more columns:
    ``{prefix}account`` (the account's name), ``{prefix}device`` (the device's)
    and ``{prefix}device_owner`` (the name of the device's account)."""
    account, device, owner = aliased(Account), aliased(Device), aliased(Account)
    return (
        query.add_columns(
            account.display_name.label(f"{prefix}account"),
            device.name.label(f"{prefix}device"),
            owner.display_name.label(f"{prefix}device_owner"),
        )
        .outerjoin(account, account.id == account_id)
        .outerjoin(device, device.id == device_id)
        .outerjoin(owner, owner.id == device.account_id)
    )


def trail(entity: str, entity_id: uuid.UUID) -> Select[Any]:
    """A record's audit entries, the newest first: when, what, and who."""
    return (
        with_actor(
            select(AuditEntry.at, AuditEntry.action, AuditEntry.changes),
            AuditEntry.account_id,
            AuditEntry.device_id,
        )
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.at.desc())
    )
