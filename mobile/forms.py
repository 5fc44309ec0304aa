"""Checking what the cadre typed, before anything is saved.

The phone runs the same shared schemas as the Phone and the server, a
form's fields at a time, so each message can stand next to its own field;
and adds the rules only a person at a form needs (a visit cannot be in the
future). Every check returns the values to save and a dict of errors by
field; nothing is saved while that dict is not empty. Messages stay
bilingual ("中文 / English"): the screen shows the reader's half.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError

from mobile.i18n import tr
from shared.schemas import (
    HouseholdSchema,
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    VisitSchema,
)
from shared.vocab import IssueStatus

Errors = dict[str, str]

# A phone's clock and the cadre's typing may be a little ahead of the truth.
FUTURE_ALLOWANCE = timedelta(minutes=5)
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d")
TOPIC_SEPARATORS = re.compile(r"[,，、;；\n]")


def both(key: str, **values: Any) -> str:
    """One of the phone's own messages, in both languages like the schemas'."""
    return f"{tr(key, 'zh', **values)} / {tr(key, 'en', **values)}"


def flatten(messages: Any, prefix: str = "") -> Errors:
    """marshmallow's nested messages as {field: first message}.

    A list field's messages are keyed by position ({"phones": {1: [...]}}):
    they belong to the field itself, whose input holds the whole list.
    """
    if isinstance(messages, list):
        return {prefix or "_schema": str(messages[0])}
    errors: Errors = {}
    for key, value in messages.items():
        name = prefix if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
        for path, message in flatten(value, name).items():
            errors.setdefault(path, message)
    return errors


def checked(schema: Schema, data: Mapping[str, Any], prefix: str = "") -> Errors:
    try:
        schema.load(data)
    except ValidationError as invalid:
        return flatten(invalid.messages, prefix)
    return {}


def parse_time(text: str) -> datetime | None:
    """A time as typed (2026-05-27 08:30, or a day), in the phone's time zone."""
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), layout).astimezone()
        except ValueError:
            continue
    return None


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def show_time(moment: datetime) -> str:
    return moment.astimezone().strftime(TIME_FORMATS[0])


# --- a visit and its issues ----------------------------------------------------


@dataclass
class IssueInput:
    category: str | None = None
    description: str = ""
    # open, solved_on_spot or passed_to_department
    status: str = IssueStatus.OPEN.value
    department: str = ""

    def record(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "description": self.description.strip(),
            "status": self.status,
            "department": self.department.strip()
            if self.status == IssueStatus.PASSED_TO_DEPARTMENT
            else "",
        }
        if self.category:
            issue["category"] = self.category
        return issue


@dataclass
class VisitInput:
    when: str
    kind: str
    roles: list[str] = field(default_factory=list)
    topics: str = ""
    notes: str = ""
    issues: list[IssueInput] = field(default_factory=list)


def check_visit(form: VisitInput, now: datetime) -> tuple[dict[str, Any], Errors]:
    """Phone.record_visit's arguments for a visit form, or what to fix."""
    errors: Errors = {}
    visited_at = parse_time(form.when)
    if visited_at is None:
        errors["visited_at"] = both("visit.bad_time")
    elif visited_at > now + FUTURE_ALLOWANCE:
        errors["visited_at"] = both("visit.future")
    topics = [topic.strip() for topic in TOPIC_SEPARATORS.split(form.topics) if topic.strip()]
    visit = {"kind": form.kind, "roles": form.roles, "topics": topics, "notes": form.notes}
    errors.update(checked(VisitSchema(only=tuple(visit)), visit))
    issues = [issue.record() for issue in form.issues]
    only = ("category", "description", "status", "department")
    for number, issue in enumerate(issues):
        prefix = f"issues.{number}"
        found = checked(IssueSchema(only=only), issue, prefix)
        # marshmallow skips a schema's own rules (a department for an issue
        # passed on) while a field is wrong: run them on their fields alone.
        passed_on = {key: issue[key] for key in ("status", "department")}
        found = checked(IssueSchema(only=tuple(passed_on)), passed_on, prefix) | found
        errors.update(found)
    arguments = {**visit, "visited_at": visited_at, "issues": issues}
    return arguments, errors


# --- household facts ----------------------------------------------------------------


@dataclass
class HouseholdInput:
    phones: str
    members: str
    address: str
    tags: list[str]
    notes: str


def check_household(
    form: HouseholdInput, current: Mapping[str, Any]
) -> tuple[dict[str, Any], Errors]:
    """The facts that changed, or what to fix."""
    members: Any = form.members.strip()
    if members.isdigit():
        members = int(members)
    values = {
        "phones": [line.strip() for line in form.phones.splitlines() if line.strip()],
        "members": members,
        "address": form.address.strip(),
        "tags": sorted(form.tags),
        "notes": form.notes.strip(),
    }
    changes = {
        name: value
        for name, value in values.items()
        if value != (sorted(current.get(name) or []) if name == "tags" else current.get(name))
    }
    if not changes:
        return {}, {}
    return changes, checked(HouseholdSchema(only=tuple(changes), partial=True), changes)


# --- an issue's follow-up --------------------------------------------------------------


def check_follow_up(
    note: str, status: str | None, department: str
) -> tuple[dict[str, Any], Errors]:
    """Phone.follow_up's arguments, or what to fix."""
    note = note.strip()
    department = department.strip() if status == IssueStatus.PASSED_TO_DEPARTMENT else ""
    if not note and not status:
        return {}, {"note": both("followup.need_something")}
    errors = checked(IssueEventSchema(only=("note",)), {"note": note})
    if status:
        errors.update(
            checked(
                IssueSchema(only=("status", "department")),
                {"status": status, "department": department},
            )
        )
    return {"note": note or None, "status": status, "department": department}, errors


# --- an inspector's spot check ---------------------------------------------------------


# The answers an inspector gives: the inspection's fields but those the phone fills in.
INSPECTION_FIELDS = tuple(
    name for name in InspectionSchema._declared_fields if name not in ("id", "household_id")
)


@dataclass
class InspectionInput:
    knows_cadre: bool | None
    last_visit: str
    problem_solved: str | None
    satisfaction: str | None
    notes: str


def check_inspection(form: InspectionInput, today: date) -> tuple[dict[str, Any], Errors]:
    """Phone.record_inspection's answers, or what to fix."""
    answers: dict[str, Any] = {"inspected_on": today.isoformat(), "notes": form.notes.strip()}
    for name in ("knows_cadre", "problem_solved", "satisfaction"):
        if getattr(form, name) is not None:
            answers[name] = getattr(form, name)
    if form.last_visit.strip():
        answers["last_visit_reported"] = form.last_visit.strip()
    errors = checked(InspectionSchema(only=INSPECTION_FIELDS), answers)
    reported = parse_day(form.last_visit)
    if reported is not None and reported > today:
        errors["last_visit_reported"] = both("visit.future")
    return answers, errors
