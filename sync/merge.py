"""The merge rules, the same on every replica (phones and the server).

Each rule is a pure function of the operations it is given, never of the
order they arrived in, so replicas that have seen the same operations hold
the same state:

* Household facts are last-writer-wins registers, one per field, ordered
  by hybrid logical clock stamp (device id breaks ties). A concurrent loser
  is not dropped: it is reported as a conflict for an admin to review.
* An issue's status is a fold of its status events in stamp order, under a
  precedence that only lets a deliberate change move an issue backwards.
* Visits, notes and inspections are append-only: the same id with
  the same content is a no-op, with different content an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sync.hlc import Stamp

# --- household facts: one last-writer-wins register per field -------------

# The household facts a phone may edit. Links and codes belong to the county.
EDITABLE_HOUSEHOLD_FIELDS = frozenset(
    {"head_name", "members", "address", "phones", "tags", "notes"}
)


class ConflictKind(StrEnum):
    # ODK Central's terms: a soft conflict is an update made on an old
    # version that touched other fields (both survive); a hard conflict is
    # one that set the same field to a different value (one value loses).
    SOFT = "soft"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Register:
    """One field's current value, the stamp that wrote it, and when (seq)."""

    value: Any
    stamp: Stamp
    seq: int = 0


@dataclass(frozen=True, slots=True)
class FieldOutcome:
    field: str
    applied: bool
    # Set when a concurrent write to the same field lost.
    conflict: ConflictKind | None
    winner: Register
    loser: Register | None


def merge_field(
    field: str, current: Register | None, incoming: Register, base_seq: int
) -> FieldOutcome:
    """Merge one incoming write into a field.

    ``base_seq`` is the version of the record the writer had seen. A write
    made after seeing the current value replaces it; between concurrent
    writes (the current value is newer than ``base_seq``) the later stamp
    wins, and a loser with a different value is a hard conflict.
    """
    if current is not None and incoming.stamp == current.stamp:
        return FieldOutcome(field, False, None, current, None)  # the same write again
    concurrent = current is not None and current.seq > base_seq
    if current is None or not concurrent or incoming.stamp > current.stamp:
        winner, loser, applied = incoming, current, True
    else:
        winner, loser, applied = current, incoming, False
    hard = concurrent and loser is not None and loser.value != winner.value
    return FieldOutcome(
        field,
        applied,
        ConflictKind.HARD if hard else None,
        winner,
        loser if hard else None,
    )


def merge_registers(
    current: Mapping[str, Register], incoming: Mapping[str, Register], base_seq: int
) -> list[FieldOutcome]:
    return [
        merge_field(name, current.get(name), register, base_seq)
        for name, register in sorted(incoming.items())
    ]


# --- an issue's status ---------------------------------------------------

# How far along an issue is. Moving up is always allowed; moving down (a
# reopening) only by someone who saw the status they are overturning.
STATUS_RANK = {
    "open": 0,
    "passed_to_department": 1,
    "in_progress": 2,
    "solved_on_spot": 3,
    "solved": 3,
    "household_informed": 4,
}


@dataclass(frozen=True, slots=True)
class StatusEvent:
    id: str
    stamp: Stamp
    status: str
    # The status its author saw when making the change.
    base_status: str | None
    department: str = ""


@dataclass(frozen=True, slots=True)
class IssueState:
    status: str
    department: str
    # Events that did not change the status: a concurrent attempt to move
    # the issue backwards, which needs a deliberate decision instead.
    overruled: tuple[str, ...] = ()


def fold_status(
    initial_status: str, initial_department: str, events: Iterable[StatusEvent]
) -> IssueState:
    """The issue's status after its status events, replayed in stamp order."""
    status, department = initial_status, initial_department
    overruled: list[str] = []
    for event in sorted(events, key=lambda e: (e.stamp, e.id)):
        forward = STATUS_RANK[event.status] >= STATUS_RANK[status]
        if forward or event.base_status == status:
            status = event.status
            department = event.department or department
        else:
            overruled.append(event.id)
    return IssueState(status, department, tuple(overruled))


# --- append-only records --------------------------------------------------


class AppendOutcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    DIFFERENT = "different"


def compare_append_only(
    existing: Mapping[str, Any] | None, incoming: Mapping[str, Any]
) -> AppendOutcome:
    """An append-only record arriving again: new, a harmless duplicate, or an
    attempt to change what was written (refused: write an amendment instead)."""
    if existing is None:
        return AppendOutcome.NEW
    same = all(existing.get(key) == value for key, value in incoming.items())
    return AppendOutcome.DUPLICATE if same else AppendOutcome.DIFFERENT
