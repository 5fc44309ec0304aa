"""Inspections (督查): random samples of households to check, and what checks found,
per town and per cadre: did households know their cadre, were issues
solved, were they satisfied."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.inspections.models import Inspection
from server.ledger.models import Cadre, Grid, Household, Town, Village, WorkUnit
from server.ledger.queries import household_rows, with_current_cadre
from shared.vocab import ProblemSolved, Satisfaction

MAX_SAMPLE = 50


@dataclass(frozen=True)
class Result:
    """A group's inspections and the shares that matter."""

    inspections: int
    knew_cadre: int
    # Issues raised: solved, of those where there was one.
    with_issues: int
    solved: int
    satisfied: int  # satisfied or basically satisfied
    unsatisfied: int

    def share(self, part: int, whole: int | None = None) -> float | None:
        whole = self.inspections if whole is None else whole
        return part / whole if whole else None


def _result_columns() -> list[ColumnElement[Any]]:
    return [
        func.count().label("inspections"),
        func.count(case((Inspection.knows_cadre.is_(True), 1))).label("knew_cadre"),
        func.count(case((Inspection.problem_solved != ProblemSolved.NONE_RAISED, 1))).label(
            "with_issues"
        ),
        func.count(case((Inspection.problem_solved == ProblemSolved.YES, 1))).label("solved"),
        func.count(case((Inspection.satisfaction != Satisfaction.UNSATISFIED, 1))).label(
            "satisfied"
        ),
        func.count(case((Inspection.satisfaction == Satisfaction.UNSATISFIED, 1))).label(
            "unsatisfied"
        ),
    ]


def _inspected(scope: Scope, *columns: Any) -> Select[Any]:
    return (
        select(*columns, *_result_columns())
        .select_from(Inspection)
        .join(Household, Household.id == Inspection.household_id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(Inspection.deleted_at.is_(None), scope.villages())
    )


def _result(row: Any) -> Result:
    return Result(
        row.inspections,
        row.knew_cadre,
        row.with_issues,
        row.solved,
        row.satisfied,
        row.unsatisfied,
    )


def by_town(session: Session, scope: Scope) -> tuple[Result, list[tuple[Any, Result]]]:
    """All inspections in scope, and per town."""
    total = _result(session.execute(_inspected(scope)).one())
    rows = session.execute(
        _inspected(scope, Town.id, Town.name)
        .join(Town, Town.id == Village.town_id)
        .group_by(Town.id, Town.name)
        .order_by(Town.name)
    ).all()
    return total, [(row, _result(row)) for row in rows]


def by_cadre(session: Session, scope: Scope, town_id: uuid.UUID | None) -> list[tuple[Any, Result]]:
    """Per cadre now covering the inspected households: the weakest first."""
    query = with_current_cadre(
        _inspected(scope, Cadre.id, Cadre.name, WorkUnit.name.label("unit")), linked_only=True
    ).group_by(Cadre.id, Cadre.name, WorkUnit.name)
    if town_id is not None:
        query = query.where(Village.town_id == town_id)
    results = [(row, _result(row)) for row in session.execute(query)]
    return sorted(
        results,
        key=lambda item: (
            item[1].share(item[1].knew_cadre) or 0,
            item[1].share(item[1].satisfied) or 0,
            item[0].name,
        ),
    )


def villages(session: Session, scope: Scope, town_id: uuid.UUID | None) -> list[Village]:
    """The villages in scope (of one town, if given) a sample may be drawn from, town by town."""
    query = select(Village).where(scope.villages())
    if town_id is not None:
        query = query.where(Village.town_id == town_id)
    chosen = list(session.scalars(query))
    chosen.sort(key=lambda village: (village.town.name, village.name))
    return chosen


def sample(
    session: Session, village_ids: list[uuid.UUID], size: int, seed: int
) -> dict[uuid.UUID, list[Any]]:
    """``size`` households drawn at random from each village, the same for the same seed.

    The seed is printed on the list, so a list can be drawn again exactly.
    """
    codes: dict[uuid.UUID, list[tuple[str, uuid.UUID]]] = defaultdict(list)
    for household_id, code, village_id in session.execute(
        select(Household.id, Household.code, Grid.village_id)
        .join(Grid, Grid.id == Household.grid_id)
        .where(Household.deleted_at.is_(None), Grid.village_id.in_(village_ids))
    ):
        codes[village_id].append((code, household_id))
    drawn: list[uuid.UUID] = []
    for village_id, households in codes.items():
        households.sort()
        rng = random.Random(f"{seed}:{village_id}")
        drawn += [
            household_id for _, household_id in rng.sample(households, min(size, len(households)))
        ]
    rows = session.execute(
        household_rows(
            Household.id,
            Household.code,
            Household.head_name,
            Household.address,
            Household.phones,
            Grid.village_id,
            Grid.name.label("grid"),
            Cadre.name.label("cadre"),
            WorkUnit.name.label("unit"),
            Cadre.phone.label("cadre_phone"),
        )
        .where(Household.id.in_(drawn))
        .order_by(Household.code)
    ).all()
    by_village: dict[uuid.UUID, list[Any]] = {village_id: [] for village_id in village_ids}
    for row in rows:
        by_village[row.village_id].append(row)
    return by_village
