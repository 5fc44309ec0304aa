"""The county's departments (有关部门) and their deadlines (时限): the managed
list issues are passed to, kept by the county admin.

Issues and their events name a department by its name (phones show and
fold the name), so a department issues were passed to keeps its name; its
kind and phone may change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.audit.services import Actor, record
from server.issues.models import Deadline, Department, Issue, IssueEvent
from server.ledger.models import Town, Village
from shared.vocab import DepartmentKind, IssueCategory

# A category without a deadline of its own gives departments this long.
DEFAULT_DEADLINE_DAYS = 30
MAX_DEADLINE_DAYS = 365
MAX_NAME_LENGTH = 100
MAX_PHONE_LENGTH = 40


class DepartmentError(Exception):
    """A change to the list the county admin cannot make; the message is bilingual."""


def listed(session: Session, county_id: uuid.UUID) -> list[Department]:
    return list(
        session.scalars(
            select(Department).where(Department.county_id == county_id).order_by(Department.name)
        )
    )


def adopt_passed_names(session: Session, at: datetime, actor: Actor | None) -> int:
    """List every department issues were passed to by a name not yet listed
    (from phones, or data written in bulk): kind "other", no phone, an id made
    from the county and the name. ``actor`` None: a bulk load that records
    itself. Returns how many were added."""
    passed = session.execute(
        select(Town.county_id, IssueEvent.department)
        .distinct()
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .join(Village, Village.id == Issue.village_id)
        .join(Town, Town.id == Village.town_id)
        .where(IssueEvent.department != "")
    ).all()
    listed = set(session.execute(select(Department.county_id, Department.name)).all())
    added = sorted(set(passed) - listed)
    for county_id, name in added:
        department = Department(
            id=uuid.uuid5(county_id, name),
            county_id=county_id,
            name=name,
            kind=DepartmentKind.OTHER,
            phone="",
            created_at=at,
        )
        session.add(department)
        if actor is not None:
            record(session, actor, "create", "department", department.id, {"name": name})
    return len(added)


def in_use(session: Session, department: Department) -> bool:
    """Whether issues have been passed to it (then its name stays)."""
    return bool(session.scalar(select(exists().where(Issue.department == department.name))))


def checked(name: str, kind: str, phone: str) -> tuple[str, DepartmentKind, str]:
    name, phone = name.strip(), phone.strip()
    if not name:
        raise DepartmentError("请写明部门名称 / name the department")
    if len(name) > MAX_NAME_LENGTH:
        raise DepartmentError(
            f"部门名称不能超过 {MAX_NAME_LENGTH} 个字"
            f" / the department's name must be at most {MAX_NAME_LENGTH} characters"
        )
    if len(phone) > MAX_PHONE_LENGTH:
        raise DepartmentError(
            f"电话不能超过 {MAX_PHONE_LENGTH} 个字 / the phone must be at most {MAX_PHONE_LENGTH} characters"
        )
    if kind not in DepartmentKind.codes():
        choices = "、".join(member.zh for member in DepartmentKind)
        raise DepartmentError(f"请选择部门类别：{choices} / choose the department's kind")
    return name, DepartmentKind(kind), phone


def _named(session: Session, county_id: uuid.UUID, name: str) -> Department | None:
    return session.scalar(
        select(Department).where(Department.county_id == county_id, Department.name == name)
    )


def add(
    session: Session, actor: Actor, county_id: uuid.UUID, name: str, kind: str, phone: str
) -> Department:
    name, checked_kind, phone = checked(name, kind, phone)
    if _named(session, county_id, name) is not None:
        raise DepartmentError(f"已有部门“{name}” / there is already a department '{name}'")
    department = Department(
        id=uuid.uuid4(), county_id=county_id, name=name, kind=checked_kind, phone=phone
    )
    session.add(department)
    record(
        session,
        actor,
        "create",
        "department",
        department.id,
        {"name": name, "kind": checked_kind, "phone": phone},
    )
    return department


def change(
    session: Session, actor: Actor, department: Department, name: str, kind: str, phone: str
) -> None:
    name, checked_kind, phone = checked(name, kind, phone)
    if name != department.name:
        if in_use(session, department):
            raise DepartmentError(
                f"已有问题转交给“{department.name}”，不能改名"
                f" / problems have been passed to '{department.name}': its name cannot change"
            )
        if _named(session, department.county_id, name) is not None:
            raise DepartmentError(f"已有部门“{name}” / there is already a department '{name}'")
    changes = {
        field: [old, new]
        for field, old, new in (
            ("name", department.name, name),
            ("kind", department.kind, checked_kind),
            ("phone", department.phone, phone),
        )
        if old != new
    }
    if not changes:
        raise DepartmentError("没有改动 / nothing was changed")
    department.name, department.kind, department.phone = name, checked_kind, phone
    record(session, actor, "update", "department", department.id, changes)


def remove(session: Session, actor: Actor, department: Department) -> None:
    if in_use(session, department):
        raise DepartmentError(
            f"已有问题转交给“{department.name}”，不能删除"
            f" / problems have been passed to '{department.name}': it cannot be removed"
        )
    record(session, actor, "delete", "department", department.id, {"name": department.name})
    session.delete(department)


# --- deadlines ----------------------------------------------------------------------


def deadlines(session: Session, county_id: uuid.UUID) -> dict[IssueCategory, int]:
    """Each category's deadline in days: the county's own, else the default."""
    own: dict[IssueCategory, int] = {
        category: days
        for category, days in session.execute(
            select(Deadline.category, Deadline.days).where(Deadline.county_id == county_id)
        )
    }
    return {category: own.get(category, DEFAULT_DEADLINE_DAYS) for category in IssueCategory}


def deadline_days(session: Session, village_id: uuid.UUID, category: IssueCategory) -> int:
    """The deadline in days of the county an issue's village is in, for its category."""
    own = session.scalar(
        select(Deadline.days)
        .join(Town, Town.county_id == Deadline.county_id)
        .join(Village, Village.town_id == Town.id)
        .where(Village.id == village_id, Deadline.category == category)
    )
    return own if own is not None else DEFAULT_DEADLINE_DAYS


def set_deadlines(
    session: Session, actor: Actor, county_id: uuid.UUID, days: dict[IssueCategory, int]
) -> None:
    if any(not 1 <= value <= MAX_DEADLINE_DAYS for value in days.values()):
        raise DepartmentError(
            f"时限须为 1 至 {MAX_DEADLINE_DAYS} 天 / a deadline must be 1 to {MAX_DEADLINE_DAYS} days"
        )
    old = deadlines(session, county_id)
    changed = {category: value for category, value in days.items() if old[category] != value}
    for category, value in changed.items():
        deadline = session.get(Deadline, (county_id, category))
        if deadline is None:
            session.add(Deadline(county_id=county_id, category=category, days=value))
        else:
            deadline.days = value
    if changed:
        record(
            session,
            actor,
            "update",
            "deadline",
            county_id,
            {str(category): [old[category], value] for category, value in changed.items()},
        )
