"""What every handler does with a pushed change: load its record, check its
stamp, author and times, and answer it."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from marshmallow import ValidationError

from server.clock import from_ms
from server.db import Base
from server.rejected import Rejected
from server.sync.batch import Batch
from shared.schemas import HouseholdSchema
from sync.hlc import Stamp
from sync.merge import AppendOutcome, compare_append_only


def new_record(parsed: dict[str, Any]) -> dict[str, Any]:
    """The record a change creates, as its schema loaded it (push._validate)."""
    loaded: dict[str, Any] | Rejected = parsed["new_record"]
    if isinstance(loaded, Rejected):
        raise loaded
    return loaded


@lru_cache(maxsize=256)
def household_schema(names: tuple[str, ...]) -> HouseholdSchema:
    return HouseholdSchema(only=names, partial=True)


def load(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as invalid:
        raise Rejected(
            "记录内容不正确，见 errors / the record did not pass validation: see errors",
            invalid.messages
            if isinstance(invalid.messages, dict)
            else {"_schema": invalid.messages},
        ) from None
    return loaded


def stamp_of(batch: Batch, parsed: dict[str, Any]) -> tuple[Stamp, list[str]]:
    """The change's stamp, brought back from the future; notes on what was done."""
    stamp: Stamp = parsed["stamp"]
    if not batch.is_own(stamp.node):
        raise Rejected("时钟戳不属于本设备 / the clock stamp names another device")
    wall_ms, note = batch.believable_ms(stamp.wall_ms)
    if note is None:
        return stamp, []
    return Stamp(wall_ms, stamp.counter, stamp.node), [note]


def believable(batch: Batch, moment: datetime, notes: list[str]) -> datetime:
    """A time the phone wrote in a record, brought back from the future."""
    ms, note = batch.believable_ms(int(moment.timestamp() * 1000))
    if note is None:
        return moment
    if note not in notes:
        notes.append(note)
    return from_ms(ms)


def cadre_of(batch: Batch) -> uuid.UUID:
    cadre_id = batch.account.cadre_id
    if cadre_id is None:
        raise Rejected("该账号不是挂户干部 / this account is not a cadre")
    return cadre_id


def own(batch: Batch, claimed: uuid.UUID) -> uuid.UUID:
    cadre_id = cadre_of(batch)
    if claimed != cadre_id:
        raise Rejected(
            "只能提交本人的记录 / you can only submit your own records", {"cadre_id": ["not yours"]}
        )
    return cadre_id


def answer(status: str, notes: list[str], **extra: Any) -> dict[str, Any]:
    return {"status": status, "message": "；".join(notes), **extra}


def append_only(
    batch: Batch, model: type[Base], record_id: uuid.UUID, content: dict[str, Any]
) -> Any:
    """The existing record if this is a harmless repeat; raises if it differs."""
    existing = batch.find(model, record_id)
    if existing is None:
        return None
    stored = {key: getattr(existing, key) for key in content}
    if compare_append_only(stored, content) is AppendOutcome.DIFFERENT:
        raise Rejected(
            "同一编号的记录已存在且内容不同；如需更正请新增一条更正记录"
            " / a record with this id exists with different content: add a correction instead"
        )
    return existing
