"""The handler of each kind of change a phone pushes: what it checks, what it writes.

Each takes the batch and the change as validated (server/sync/push.py) and
returns the change's result, or raises Rejected before it has written
anything. The rules of the domain come from its package (a visit's
acceptance from server/visits, an issue's status fold from server/issues).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from server.clock import from_ms
from server.db import Base
from server.inspections.models import Inspection
from server.inspections.services import check_off, may_inspect
from server.issues.models import Issue, IssueEvent
from server.issues.status import FOLDED, passing_due_at, raised_event, refold_issue
from server.ledger.models import Grid, Household
from server.photos.models import Photo
from server.photos.services import PARENTS, belongs_to_household, check_room
from server.rejected import Rejected
from server.sync.batch import Batch, named_ids
from server.sync.changes import (
    answer,
    append_only,
    believable,
    cadre_of,
    household_schema,
    load,
    new_record,
    own,
    stamp_of,
)
from server.sync.conflicts import Writer, merge_household
from server.sync.scope import current_households
from server.visits.acceptance import accept_visit
from server.visits.models import Visit
from shared import protocol
from shared.vocab import AccountRole, IssueEventKind, IssueStatus
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS


def _create_visit(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = new_record(parsed)
    stamp, notes = stamp_of(batch, parsed)
    cadre_id = own(batch, data["cadre_id"])
    data["visited_at"] = believable(batch, data["visited_at"], notes)
    if append_only(batch, Visit, data["id"], data) is not None:
        return answer(protocol.ALREADY_APPLIED, notes)
    accept_visit(batch, cadre_id, data)
    batch.create(Visit, **data, stamp=str(stamp), device_id=batch.device.id)
    batch.audit("create", "visit", data["id"])
    return answer(protocol.APPLIED, notes)


def issue_in_scope(batch: Batch, cadre_id: uuid.UUID, issue: Any) -> None:
    """Whether the cadre may raise or follow ``issue`` (an issue, or a new one's fields)."""
    if isinstance(issue, dict):
        household_id, village_id = issue.get("household_id"), issue["village_id"]
    else:
        household_id, village_id = issue.household_id, issue.village_id
    session = batch.session
    if household_id is not None:
        household = _named_household(batch, household_id)
        if household.grid.village_id != village_id:
            raise Rejected("农户不在该村 / the household is not in that village")
        _check_covered(batch, cadre_id, household_id)
        return
    villages = set(
        session.scalars(
            select(Grid.village_id)
            .join(Household, Household.grid_id == Grid.id)
            .where(Household.id.in_(current_households(session, cadre_id)))
        )
    )
    if village_id not in villages:
        raise Rejected("不是您挂钩农户所在的村 / not a village where you cover households")


def _named_household(batch: Batch, household_id: uuid.UUID) -> Household:
    """The household a new record names; refused if there is none."""
    household = batch.find(Household, household_id)
    if household is None:
        raise Rejected("没有该农户 / no such household", {"household_id": ["unknown"]})
    return household


def _check_covered(batch: Batch, cadre_id: uuid.UUID, household_id: uuid.UUID) -> None:
    """Refuse unless the cadre covers the household at the batch's time."""
    if not batch.covers(cadre_id, household_id, from_ms(batch.server_ms)):
        raise Rejected("不是您挂钩的农户 / not one of your households")


def _raised_at_own_visit(batch: Batch, cadre_id: uuid.UUID, issue: dict[str, Any]) -> bool:
    """Whether the visit a new issue names is the cadre's own visit to its
    household (to a household of its village, for a village's issue)."""
    visit = batch.find(Visit, issue["visit_id"])
    if visit is None or visit.cadre_id != cadre_id:
        return False
    if issue.get("household_id") is not None:
        return bool(visit.household_id == issue["household_id"])
    household = batch.find(Household, visit.household_id)
    return household is not None and household.grid.village_id == issue["village_id"]


def _create_issue(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = new_record(parsed)
    stamp, notes = stamp_of(batch, parsed)
    cadre_id = own(batch, data["raised_by_cadre_id"])
    data["raised_at"] = believable(batch, data["raised_at"], notes)
    # The fold moves an issue's status on after creation; the rest never changes.
    fixed = {key: value for key, value in data.items() if key not in FOLDED}
    if append_only(batch, Issue, data["id"], fixed) is not None:
        return answer(protocol.ALREADY_APPLIED, notes)
    issue_in_scope(batch, cadre_id, data)
    if data.get("visit_id") is not None and not _raised_at_own_visit(batch, cadre_id, data):
        raise Rejected(
            "所属走访不存在或不是您对该户的走访"
            " / the visit it was raised at is unknown, or not your visit to this household",
            {"visit_id": ["unknown"]},
        )
    # As an enum, as when read back: an issue event in the same batch reports it.
    data["status"] = IssueStatus(data["status"])
    batch.create(Issue, **data, stamp=str(stamp), device_id=batch.device.id)
    batch.create(
        IssueEvent, **raised_event(data, cadre_id), stamp=str(stamp), device_id=batch.device.id
    )
    batch.audit("create", "issue", data["id"])
    return answer(protocol.APPLIED, notes)


def _create_issue_event(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = new_record(parsed)
    stamp, notes = stamp_of(batch, parsed)
    cadre_id = cadre_of(batch)
    data["at"] = believable(batch, data["at"], notes)
    content = {**data, "cadre_id": cadre_id}
    if append_only(batch, IssueEvent, data["id"], content) is not None:
        return answer(protocol.ALREADY_APPLIED, notes)
    issue = batch.find(Issue, data["issue_id"])
    if issue is None:
        raise Rejected("没有该问题 / no such problem", {"issue_id": ["unknown"]})
    issue_in_scope(batch, cadre_id, issue)
    due_at = passing_due_at(batch.session, issue, data)
    if due_at is not None:
        content["due_at"] = due_at
    batch.create(IssueEvent, **content, stamp=str(stamp), device_id=batch.device.id)
    batch.audit("create", "issue_event", data["id"])
    if data["kind"] == IssueEventKind.STATUS and str(data["id"]) in refold_issue(
        batch.session, issue, batch.status_events_of(issue.id)
    ):
        notes.append(
            f"该问题已被他人改为“{issue.status.zh}”，您的状态变更已记录但未生效"
            f" / someone else already moved this problem to '{issue.status.en}':"
            " your status change is kept in its history but did not take effect"
        )
        return answer(protocol.CONFLICT, notes)
    return answer(protocol.APPLIED, notes)


def _create_inspection(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    if batch.account.role != AccountRole.INSPECTOR:
        raise Rejected("只有督查员可以提交督查记录 / only inspectors submit inspections")
    data = new_record(parsed)
    stamp, notes = stamp_of(batch, parsed)
    content = {**data, "inspector_id": batch.account.id}
    if append_only(batch, Inspection, data["id"], content) is not None:
        return answer(protocol.ALREADY_APPLIED, notes)
    household = _named_household(batch, data["household_id"])
    # Outside the account's county it is no phone's of this account (sync/scope.py).
    if household.county_of(batch.session) != batch.county or not may_inspect(
        batch.session, batch.account.id, household.id, from_ms(batch.server_ms)
    ):
        raise Rejected(
            "该户不在您的督查名单上 / this household is not on your list of households to inspect"
        )
    batch.create(Inspection, **content, stamp=str(stamp), device_id=batch.device.id)
    check_off(batch.session, batch.account.id, household.id)
    batch.audit("create", "inspection", data["id"])
    return answer(protocol.APPLIED, notes)


def _create_photo(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    """A photo's record (its bytes follow it: server/photos/views.py). Its
    visit, issue or follow-up must be the household's, and the household
    the cadre's now, as for a follow-up."""
    data = new_record(parsed)
    stamp, notes = stamp_of(batch, parsed)
    cadre_id = cadre_of(batch)
    content = {**data, "cadre_id": cadre_id}
    if append_only(batch, Photo, data["id"], content) is not None:
        return answer(protocol.ALREADY_APPLIED, notes)
    household = _named_household(batch, data["household_id"])
    _check_covered(batch, cadre_id, household.id)
    kind = data["record_kind"]
    parent = batch.find(PARENTS[kind], data["record_id"])
    if not belongs_to_household(kind, parent, household.id, household.grid.village_id, batch.find):
        raise Rejected(
            "照片所属的记录不存在或不属于该户，请先同步该记录"
            " / the record the photo belongs to is unknown or not this household's:"
            " sync that record first",
            {"record_id": ["unknown"]},
        )
    in_batch = sum(
        1
        for new in batch.created
        if new.model is Photo and new.record_id == data["record_id"] and new.deleted_at is None
    )
    check_room(batch.session, kind, data["record_id"], in_batch)
    batch.create(Photo, **content, stamp=str(stamp), device_id=batch.device.id)
    batch.audit("create", "photo", data["id"])
    return answer(protocol.APPLIED, notes)


TOMBSTONED: dict[str, type[Base]] = {
    "visit": Visit,
    "issue": Issue,
    "inspection": Inspection,
    "photo": Photo,
}
NOT_YOURS_TO_DELETE = Rejected(
    "没有该记录，或不是您本人录入的记录 / no such record, or not one you entered",
    {"id": ["unknown or not yours"]},
)


def _delete(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    """A record entered by mistake: its author turns it into a tombstone.

    The author is the account whose phone entered it, and the record must
    still be in that phone's scope. A record with no device (loaded in bulk,
    or entered in the console) is no phone's to delete. Unknown and foreign
    records get the same answer, so ids reveal nothing.
    """
    model = TOMBSTONED.get(parsed["kind"])
    if model is None:
        raise Rejected("该类记录不能删除 / this kind of record cannot be deleted")
    try:
        record_id = uuid.UUID(str(parsed["record"].get("id")))
    except ValueError:
        raise Rejected("记录编号无效 / invalid record id", {"id": ["not a UUID"]}) from None
    target = batch.find(model, record_id)
    if target is None or not _may_delete(batch, model, target):
        raise NOT_YOURS_TO_DELETE
    stamp_of(batch, parsed)
    if target.deleted_at is not None:
        return answer(protocol.ALREADY_APPLIED, [])
    target.deleted_at = from_ms(batch.server_ms)
    batch.audit("delete", parsed["kind"], record_id)
    return answer(protocol.APPLIED, [])


def _may_delete(batch: Batch, model: type[Base], target: Any) -> bool:
    """Whether this device's account entered ``target`` and may still reach it.

    ``target`` may be a row or a NewRecord of this batch: hence ``model``.
    """
    if target.device_id is None or not batch.is_own(str(target.device_id)):
        return False
    account = batch.account
    if model is Inspection:
        return bool(target.inspector_id == account.id)
    if account.cadre_id is None:
        return False
    if model in (Visit, Photo):
        return target.cadre_id == account.cadre_id and batch.covers(
            account.cadre_id, target.household_id, from_ms(batch.server_ms)
        )
    if target.raised_by_cadre_id != account.cadre_id:
        return False
    try:
        issue_in_scope(batch, account.cadre_id, target)
    except Rejected:
        return False
    return True


def _update_household(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    values = dict(parsed["record"])
    household_id = values.pop("id", None)
    unknown = sorted(set(values) - EDITABLE_HOUSEHOLD_FIELDS)
    if unknown:
        raise Rejected(
            "这些信息只能由县里修改 / these fields can only be changed by the county office",
            {name: ["not editable from a phone"] for name in unknown},
        )
    if not values:
        raise Rejected("没有要修改的内容 / nothing to change")
    checked = load(household_schema(tuple(values)), values)
    try:
        household = batch.find(Household, uuid.UUID(str(household_id)))
    except ValueError:
        household = None
    if household is None:
        raise Rejected("没有该农户 / no such household", {"id": ["unknown"]})
    stamp, notes = stamp_of(batch, parsed)
    # Now (or lately, for a phone that could not know of a reassignment): a
    # stamp is the phone's to choose, and could date an edit back to a time
    # when the cadre still covered the household.
    _check_covered(batch, cadre_of(batch), household.id)
    if batch.together and household.id in batch.edited:
        # Its earlier edit takes its own seq first, as when each change is
        # applied alone: the merge below sees that version as newer.
        batch.number(household)
    batch.edited.add(household.id)
    conflicts = merge_household(
        batch.session,
        batch.actor,
        household,
        checked,
        stamp,
        parsed["base_seq"],
        Writer(batch.device.id, None),
    )
    if not batch.session.is_modified(household):
        # The edit changed nothing (it lost, or repeated the value): see send_back.
        send_back(batch, household.id)
    if household.deleted_at is not None:
        notes.append(
            "该户已被注销，您的修改已保存在档案中 / this household has been removed:"
            " your change is kept in its record"
        )
        return answer(protocol.CONFLICT, notes, conflicts=conflicts)
    return answer(protocol.CONFLICT if conflicts else protocol.APPLIED, notes, conflicts=conflicts)


def send_back(batch: Batch, household_id: Any) -> None:
    """Send the household out again after the phone's edit of it is answered.

    While the edit waited, the phone laid it over every version it pulled.
    Whatever the edit's fate (lost to a newer value, or applied and then
    overtaken while the answer was lost), the phone's next pull must bring
    the household as the server holds it: a new seq makes sure it does.
    """
    for known_id in named_ids(household_id):
        household = batch.find(Household, known_id)
        if household is not None:
            flag_modified(household, "field_stamps")


HANDLERS: dict[tuple[str, str], Callable[[Batch, dict[str, Any]], dict[str, Any]]] = {
    ("visit", "create"): _create_visit,
    ("issue", "create"): _create_issue,
    ("issue_event", "create"): _create_issue_event,
    ("inspection", "create"): _create_inspection,
    ("photo", "create"): _create_photo,
    ("household", "update"): _update_household,
    ("visit", "delete"): _delete,
    ("issue", "delete"): _delete,
    ("issue_event", "delete"): _delete,
    ("inspection", "delete"): _delete,
    ("photo", "delete"): _delete,
}
