"""Household facts corrected at a desk: read from the console's form, checked
against what the admin saw, and merged as a stamped edit like a phone's.

The merge itself (per-field last-writer-wins, conflicts for the queue, the
audit entry, the seq that sends it to the cadre's phone) is
``server.sync.conflicts.edit_household``. What this adds is the desk's case:
a form read a while ago. Only the fields the admin changed are written, and a
field someone else changed meanwhile is not overwritten unseen: the form
comes back showing both values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.ledger.models import Household
from server.rejected import Rejected
from server.sequence import take
from server.sync.conflicts import edit_household
from shared.vocab import HouseholdTag
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS

# In the order the form shows them.
FACT_FIELDS = ("head_name", "members", "address", "phones", "tags", "notes")
assert set(FACT_FIELDS) == EDITABLE_HOUSEHOLD_FIELDS

# Lists are typed with any of these between items.
SEPARATORS = re.compile(r"[\s,，、;；]+")

OUT_OF_DATE = "页面已过期，请刷新后重试 / the page is out of date: reload it and try again"
REMOVED = "该户已注销，不能修改 / this household has been removed and cannot be changed"


class EnteredValueError(ValueError):
    """The admin's typed value cannot be read; the message is bilingual."""


class StaleFacts(Exception):
    """Fields the admin changed that someone else changed too since the form was read."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


def parse_value(field: str, text: str) -> Any:
    """The value an admin typed, as the household field holds it."""
    # Browsers send a textarea's line breaks as CRLF.
    text = text.replace("\r\n", "\n").strip()
    if field == "members":
        try:
            return int(text)
        except ValueError:
            raise EnteredValueError("人口应为整数 / members must be a whole number") from None
    if field in ("phones", "tags"):
        items = [item for item in SEPARATORS.split(text) if item]
        if field == "phones":
            return items
        codes = {name: tag.value for tag in HouseholdTag for name in (tag.value, tag.zh, tag.en)}
        unknown = [item for item in items if item not in codes]
        if unknown:
            raise EnteredValueError(
                f"未知标签：{'、'.join(unknown)} / unknown tags: {', '.join(unknown)}"
            )
        return [codes[item] for item in items]
    return text


def display(field: str, value: Any) -> str:
    """A field's value as the page shows it (and as a form's input holds it)."""
    if value is None:
        return ""
    if field == "tags":
        labels = {tag.value: tag for tag in HouseholdTag}
        return "、".join(labels[code].zh if code in labels else code for code in value)
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def first_message(messages: Any) -> str:
    """The first of marshmallow's messages, however deeply it nests them (lists' items)."""
    if isinstance(messages, dict):
        return first_message(next(iter(messages.values()), ""))
    if isinstance(messages, list):
        return first_message(messages[0]) if messages else ""
    return str(messages)


def current_facts(household: Household) -> dict[str, Any]:
    return {name: getattr(household, name) for name in FACT_FIELDS}


def seen_to_text(facts: Mapping[str, Any]) -> str:
    """What the form was filled with, carried in it to compare the admin's entries to."""
    return json.dumps(dict(facts), ensure_ascii=False, sort_keys=True)


def seen_from_text(text: str) -> dict[str, Any]:
    try:
        seen = json.loads(text)
    except ValueError:
        raise EnteredValueError(OUT_OF_DATE) from None
    if not isinstance(seen, dict) or set(seen) != set(FACT_FIELDS):
        raise EnteredValueError(OUT_OF_DATE)
    return seen


def refreshed(
    entered: Mapping[str, Any], seen: Mapping[str, Any], household: Household
) -> dict[str, Any]:
    """What an overtaken form shows again: the admin's changes, and the
    household as it is now in every field they left alone."""
    return {
        name: value if value != seen[name] else getattr(household, name)
        for name, value in entered.items()
    }


def entered_facts(form: Mapping[str, str], tags: list[str]) -> dict[str, Any]:
    """The values in a submitted form; tags come as the ticked boxes' codes."""
    values = {name: parse_value(name, form.get(name, "")) for name in FACT_FIELDS if name != "tags"}
    values["tags"] = parse_value("tags", " ".join(tags))
    return values


def edit_facts(
    session: Session,
    account: Account,
    household: Household,
    entered: Mapping[str, Any],
    seen: Mapping[str, Any],
    base_seq: int,
) -> list[dict[str, Any]] | None:
    """Write what the admin changed; None when they changed nothing.

    Raises StaleFacts, writing nothing, when a field the admin changed now
    holds a third value: written by a phone or another admin after the form
    was read.
    """
    # Hold the county's counter's lock before reading, as a push does: no
    # push can write the household between this check and the edit.
    county = household.county_of(session)
    assert county is not None  # a household's grid is a foreign key
    take(session, county, 0)
    session.refresh(household)
    if household.deleted_at is not None:
        raise Rejected(REMOVED)
    changed = {name: value for name, value in entered.items() if value != seen[name]}
    if not changed:
        return None
    overtaken = [
        name
        for name, value in changed.items()
        if getattr(household, name) not in (seen[name], value)
    ]
    if overtaken:
        raise StaleFacts(overtaken)
    return edit_household(session, account, household, changed, base_seq)
