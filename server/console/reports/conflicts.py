"""The conflicts review queue: two writes to one household field, one of them lost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.audit.queries import with_actor
from server.clock import from_ms
from server.console.reports import Page, paginate
from server.ledger.models import Grid, Household, Village
from server.sync.models import Conflict
from sync.hlc import ClockError, Stamp


@dataclass(frozen=True)
class Side:
    """One side of a conflict: its value, who wrote it, from which device, when."""

    value: Any
    who: str
    # Written on a phone (its name, possibly empty) or in the console.
    on_phone: bool
    device: str
    at: datetime | None


@dataclass(frozen=True)
class OpenConflict:
    id: uuid.UUID
    household_id: uuid.UUID
    code: str
    head_name: str
    village: str
    field: str
    detected_at: datetime
    kept: Side
    lost: Side


def _written_at(stamp: str) -> datetime | None:
    try:
        return from_ms(Stamp.parse(stamp).wall_ms)
    except ClockError:
        return None


def open_conflicts(session: Session, scope: Scope, page: int) -> Page[OpenConflict]:
    """Open conflicts on households in scope, the oldest first."""
    columns: list[Any] = [Conflict, Household.code, Household.head_name, Village.name]
    query = (
        select(*columns)
        .join(Household, Household.id == Conflict.entity_id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
    )
    for side in ("winner", "loser"):
        query = with_actor(
            query,
            getattr(Conflict, f"{side}_account_id"),
            getattr(Conflict, f"{side}_device_id"),
            f"{side}_",
        )
    query = query.where(
        Conflict.entity == "household", Conflict.status == "open", scope.villages()
    ).order_by(Conflict.detected_at, Conflict.id)
    found = paginate(session, query, page)
    rows = []
    for conflict, code, head, village, *who in found.rows:
        winner, loser = who[:3], who[3:]
        rows.append(
            OpenConflict(
                id=conflict.id,
                household_id=conflict.entity_id,
                code=code,
                head_name=head,
                village=village,
                field=conflict.field,
                detected_at=conflict.detected_at,
                kept=_side(conflict.winner_value, conflict.winner_stamp, *winner),
                lost=_side(conflict.loser_value, conflict.loser_stamp, *loser),
            )
        )
    return Page(rows, found.total, found.number, found.per_page)


def _side(
    value: Any, stamp: str, account: str | None, device: str | None, owner: str | None
) -> Side:
    return Side(value, owner or account or "", owner is not None, device or "", _written_at(stamp))
