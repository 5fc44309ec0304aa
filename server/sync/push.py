"""How a push works: a phone's batch of changes validated, applied and flushed.

1. Every change is validated alone (``_validate``), before any lock: a bad
   record is rejected with its reason while the rest of the batch applies.
2. What the changes refer to that only grows is read (Batch.prefetch); then
   the lock of the county's change counter is taken (server/sequence.py),
   which serialises the county's pushes' writes and keeps its seqs in commit
   order, and what other writers change is read (Batch.prefetch_mutable).
3. Each change goes to the handler of its kind (server/sync/handlers.py),
   unless its id was seen before: every change id is remembered with its
   result, so a batch pushed again (its response lost) changes nothing and
   gets the same answers.
4. The batch is written in one flush under one savepoint (Batch.flush).
   Only if the database then refuses something is the batch applied again,
   each change in its own savepoint, to reject just the change at fault.

The request's transaction commits once, at the edge.
"""

from __future__ import annotations

import logging
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.accounts.models import Device
from server.clock import now_ms
from server.rejected import Rejected
from server.sequence import take
from server.sync.batch import Batch
from server.sync.changes import load
from server.sync.epoch import current_epoch
from server.sync.handlers import HANDLERS, send_back
from server.sync.models import AppliedChange
from shared import protocol
from shared.schemas import (
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    PhotoSchema,
    QuickLoader,
    VisitSchema,
)
from sync.hlc import ClockError, Stamp

logger = logging.getLogger(__name__)

# Schemas keep no state between loads, and building one copies all its
# fields: one of each serves every change, loaded quickly (a push loads hundreds).
CHANGE_SCHEMA = QuickLoader(protocol.ChangeSchema())
NEW_RECORD_SCHEMAS = {
    "visit": QuickLoader(VisitSchema()),
    "issue": QuickLoader(IssueSchema()),
    "issue_event": QuickLoader(IssueEventSchema()),
    "inspection": QuickLoader(InspectionSchema()),
    "photo": QuickLoader(PhotoSchema()),
}


def push(
    session: Session, device: Device, device_time_ms: int, changes: list[Any]
) -> dict[str, Any]:
    """Apply a device's batch of ``changes``; the answer, with a result for each.

    ``device_time_ms`` is the phone's clock as it sent the batch: how far it
    runs ahead corrects times from the future. Nothing is committed here:
    the caller commits the session once, whatever the results.
    """
    server_ms = now_ms()
    skew = device_time_ms - server_ms
    epoch = current_epoch(session)
    validated = [_validate(raw) for raw in changes]
    batch = Batch(session, device, server_ms, skew, together=True)
    batch.prefetch(validated)
    # From here on this push writes: take its county's counter's lock first,
    # so the county's pushes see each other's committed changes and its seqs
    # follow commit order. Other counties' pushes do not wait for it.
    if batch.county is not None:
        take(session, batch.county, 0)
    batch.prefetch_mutable()
    try:
        with session.begin_nested():
            # Every record a change needs is in the batch: nothing is written
            # until the end, in one go.
            with session.no_autoflush:
                results = [
                    _apply(batch, raw, parsed)
                    for raw, parsed in zip(changes, validated, strict=True)
                ]
            batch.flush()
    except IntegrityError as refused:
        # The database refused something, and the savepoint undid the whole
        # batch: apply it again change by change, to reject only the culprit.
        logger.warning("push of device %s: applied change by change: %s", device.id, refused.orig)
        batch = Batch(session, device, server_ms, skew)
        results = [_apply(batch, raw, _validate(raw)) for raw in changes]
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "server_time_ms": server_ms,
        "clock_skew_ms": skew,
        "epoch": epoch,
        "results": results,
    }


def _validate(raw: Any) -> dict[str, Any] | Rejected:
    try:
        if not isinstance(raw, dict):
            raise ValidationError("应为 JSON 对象 / must be a JSON object")
        parsed: dict[str, Any] = CHANGE_SCHEMA.load(raw)
        stamp = Stamp.parse(parsed["stamp"])
    except ValidationError as invalid:
        messages = invalid.messages
        return Rejected(
            "记录格式不正确 / the change is malformed",
            messages if isinstance(messages, dict) else {"_schema": messages},
        )
    except ClockError as bad_stamp:
        return Rejected("时钟戳格式不正确 / malformed clock stamp", {"stamp": [str(bad_stamp)]})
    parsed["stamp"] = stamp
    # A new record is checked here, before the counter's lock is taken; its
    # handler raises what was found at the point where it checks (new_record).
    schema = NEW_RECORD_SCHEMAS.get(parsed["kind"]) if parsed["op"] == "create" else None
    if schema is not None:
        try:
            parsed["new_record"] = load(schema, parsed["record"])
        except Rejected as invalid:
            parsed["new_record"] = invalid
    return parsed


def _apply(batch: Batch, raw: Any, parsed: dict[str, Any] | Rejected) -> dict[str, Any]:
    change_id = raw.get("change_id") if isinstance(raw, dict) else None
    if isinstance(parsed, Rejected):
        return _rejected(str(change_id), parsed)
    previous = batch.find(AppliedChange, parsed["change_id"])
    if previous is not None:
        if not batch.is_own(str(previous.device_id)):
            return _rejected(
                str(change_id),
                Rejected("该变更编号已被其他设备使用 / this change id belongs to another device"),
            )
        if previous.result["status"] == protocol.REJECTED:
            return previous.result
        if parsed["kind"] == "household":
            send_back(batch, parsed["record"].get("id"))
        return {**previous.result, "status": protocol.ALREADY_APPLIED}
    handler = HANDLERS[(parsed["kind"], parsed["op"])]
    try:
        if batch.together:
            # Handlers refuse a change before they touch anything, so a
            # refusal needs no savepoint of its own.
            result = handler(batch, parsed)
        else:
            with batch.session.begin_nested():
                result = handler(batch, parsed)
                batch.flush()
    except Rejected as refused:
        result = _rejected(str(change_id), refused)
    except IntegrityError:
        if batch.together:
            raise  # push applies the batch again, change by change
        result = _rejected(
            str(change_id),
            Rejected("与已有数据冲突，未保存 / clashes with existing data: not stored"),
        )
    result["change_id"] = str(change_id)
    batch.create(AppliedChange, id=parsed["change_id"], device_id=batch.device.id, result=result)
    if not batch.together:
        batch.flush()  # the receipt, outside the change's savepoint: kept if it failed
    return result


def _rejected(change_id: str, refused: Rejected) -> dict[str, Any]:
    return {
        "change_id": change_id,
        "status": protocol.REJECTED,
        "message": str(refused),
        "errors": _storable(refused.errors),
    }


def _storable(value: Any) -> Any:
    """Errors as the receipt can keep them: they may name what the phone sent
    (an unknown field's name), and PostgreSQL's JSON cannot hold a NUL."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value
