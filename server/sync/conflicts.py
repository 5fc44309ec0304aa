"""A household's facts, merged field by field; the conflicts that leaves, and their resolution.

Phones and console admins edit the same fields. The later stamp wins a
field (sync/merge.py); the losing value is kept as a Conflict an admin
decides: keep the winner, overturn it, or enter another value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import Account, Device
from server.audit.services import Actor, record
from server.clock import console_stamp, from_ms, now_ms
from server.ledger.models import Household
from server.rejected import Rejected
from server.sync.models import Conflict
from shared.schemas import HouseholdSchema
from sync.hlc import Stamp
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS, ConflictKind, Register, merge_registers


@dataclass(frozen=True)
class Writer:
    """Whoever writes a household field: a phone's device, or a console account."""

    device_id: uuid.UUID | None
    account_id: uuid.UUID | None


def registers(household: Household) -> dict[str, Register]:
    return {
        name: Register(getattr(household, name), Stamp.parse(entry["stamp"]), entry.get("seq") or 0)
        for name, entry in household.field_stamps.items()
        if name in EDITABLE_HOUSEHOLD_FIELDS
    }


def merge_household(
    session: Session,
    actor: Actor,
    household: Household,
    values: dict[str, Any],
    stamp: Stamp,
    base_seq: int,
    writer: Writer,
) -> list[dict[str, Any]]:
    """Merge writes to a household's fields; report each field that conflicted.

    Shared by phone pushes and console edits, so both follow the same rules.
    """
    incoming = {name: Register(value, stamp) for name, value in values.items()}
    outcomes = merge_registers(registers(household), incoming, base_seq)
    stamps = dict(household.field_stamps)
    conflicts: list[dict[str, Any]] = []
    changed: dict[str, Any] = {}
    for outcome in outcomes:
        name = outcome.field
        if outcome.applied:
            changed[name] = [getattr(household, name), values[name]]
            setattr(household, name, values[name])
            stamps[name] = {
                "stamp": str(stamp),
                "seq": None,  # filled in with this change's seq (Household.numbered)
                "device": str(writer.device_id) if writer.device_id else None,
                "account": str(writer.account_id) if writer.account_id else None,
            }
        if outcome.conflict is ConflictKind.HARD:
            assert outcome.loser is not None
            previous = household.field_stamps.get(name, {})
            winner_writer = writer if outcome.applied else _writer_of(previous)
            loser_writer = _writer_of(previous) if outcome.applied else writer
            conflicts.append(
                _record_conflict(
                    session,
                    household,
                    name,
                    ConflictKind.HARD,
                    outcome,
                    winner_writer,
                    loser_writer,
                )
            )
    concurrent = household.seq > base_seq
    if concurrent and not conflicts and changed:
        # Made on an old version, touching other fields: both survive. Noted
        # (ODK's "soft conflict") so an admin can see parallel updates.
        for name in sorted(changed):
            _record_conflict(
                session, household, name, ConflictKind.SOFT, None, writer, writer, status="noted"
            )
    if changed:
        household.field_stamps = stamps
        record(session, actor, "update", "household", household.id, changed)
    return conflicts


def _writer_of(entry: dict[str, Any]) -> Writer:
    def as_id(value: Any) -> uuid.UUID | None:
        return uuid.UUID(value) if value else None

    return Writer(as_id(entry.get("device")), as_id(entry.get("account")))


def _record_conflict(
    session: Session,
    household: Household,
    name: str,
    kind: ConflictKind,
    outcome: Any,
    winner: Writer,
    loser: Writer,
    status: str = "open",
) -> dict[str, Any]:
    winner_value = outcome.winner.value if outcome else getattr(household, name)
    loser_value = outcome.loser.value if outcome else None
    winner_stamp = (
        str(outcome.winner.stamp)
        if outcome
        else household.field_stamps.get(name, {}).get("stamp", "")
    )
    loser_stamp = str(outcome.loser.stamp) if outcome else f"soft:{household.seq}:{uuid.uuid4()}"
    # A losing write arriving again is recorded once; a soft conflict's
    # label is new every time, so there is nothing to look for.
    exists = outcome is not None and (
        session.scalar(
            select(Conflict.id).where(
                Conflict.entity_id == household.id,
                Conflict.field == name,
                Conflict.loser_stamp == loser_stamp,
            )
        )
        is not None
    )
    if not exists:
        session.add(
            Conflict(
                entity="household",
                entity_id=household.id,
                field=name,
                kind=kind.value,
                winner_value=winner_value,
                winner_stamp=winner_stamp or "",
                loser_value=loser_value,
                loser_stamp=loser_stamp,
                winner_device_id=winner.device_id,
                winner_account_id=winner.account_id,
                loser_device_id=loser.device_id,
                loser_account_id=loser.account_id,
                status=status,
            )
        )
    yours_kept = outcome.applied if outcome else True
    return {
        "field": name,
        "kind": kind.value,
        "kept": winner_value,
        "lost": loser_value,
        "yours_kept": yours_kept,
        # The other party: whoever this write won over, or lost to.
        "by": _describe_writer(session, *((loser, winner) if yours_kept else (winner, loser))),
    }


def _describe_writer(session: Session, writer: Writer, reader: Writer) -> str:
    """Who made the other write, in words the ``reader`` (the writer told of
    the conflict) understands: a cadre's own second phone is "your other phone"."""
    account: Account | None = None
    device = session.get(Device, writer.device_id) if writer.device_id is not None else None
    if writer.account_id is not None:
        account = session.get(Account, writer.account_id)
    elif device is not None:
        account = device.account
    if account is None:
        return "未知 / unknown"
    reading = session.get(Device, reader.device_id) if reader.device_id is not None else None
    if (
        device is not None
        and reading is not None
        and device.id != reading.id
        and device.account_id == reading.account_id
    ):
        if device.name:
            return f"您的另一部手机（{device.name}）/ your other phone ({device.name})"
        return "您的另一部手机 / your other phone"
    return (
        f"{account.display_name}（{account.role.zh}）/ {account.display_name} ({account.role.en})"
    )


def edit_household(
    session: Session, account: Account, household: Household, values: dict[str, Any], base_seq: int
) -> list[dict[str, Any]]:
    """An admin's edit of household facts, merged like a phone's (it may conflict)."""
    checked = HouseholdSchema(only=tuple(values), partial=True).load(values)
    return merge_household(
        session,
        Actor(account_id=account.id),
        household,
        checked,
        console_stamp(account.id),
        base_seq,
        Writer(None, account.id),
    )


def resolve_conflict(
    session: Session, account: Account, conflict: Conflict, keep: bool, entered: Any = None
) -> None:
    """Keep the winning value, or overturn it: the losing value becomes a new
    edit (seen after the winner, so it wins) that syncs out to every phone.
    A value the admin ``entered`` instead replaces both the same way."""
    if conflict.status != "open":
        raise Rejected("该冲突已处理 / this conflict has already been decided")
    household = session.get(Household, conflict.entity_id)
    if household is None:
        raise Rejected("没有该农户 / no such household")
    if entered is not None:
        status, value = "replaced", entered
    elif keep:
        status, value = "kept", conflict.winner_value
    else:
        status, value = "overturned", conflict.loser_value
    if status != "kept":
        edit_household(session, account, household, {conflict.field: value}, household.seq)
    conflict.status = status
    conflict.resolved_by_id = account.id
    conflict.resolved_at = from_ms(now_ms())
    record(
        session,
        Actor(account_id=account.id),
        conflict.status,
        "conflict",
        conflict.id,
        {"field": conflict.field, "value": value},
    )
