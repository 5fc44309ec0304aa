"""Importing the county office's spreadsheets into the ledger.

Five kinds, each with a fixed column layout (``server.ledger.layouts``):
villages, cadres, households, links and village leaders, read from an .xlsx
or .csv file by its ``read_table`` into rows keyed by column. The
``import_*`` functions here check every row against the ledger, loaded once
up front (no query per row), and write the good rows in bulk. By default one bad row refuses the whole import; with
``skip_bad_rows`` the good rows go in and the bad ones are still reported.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import Actor, entry_values, record
from server.clock import utcnow
from server.db import new_id
from server.issues import departments
from server.ledger.layouts import Row, Table, normal
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.ledger.services import link_household, set_village_leader
from server.ledger.spreadsheets import ImportRefused
from server.sequence import numbered
from shared.schemas import (
    FIELD_MESSAGES,
    CadreSchema,
    GridSchema,
    HouseholdSchema,
    TownSchema,
    VillageSchema,
    WorkUnitSchema,
    validate_phone,
)
from shared.vocab import DepartmentKind, HouseholdTag, Labelled, LeaderRole, Rank, UnitKind

REQUIRED = FIELD_MESSAGES["required"]

# Households inserted per statement batch (see import_households).
WRITE_CHUNK = 2_000

# What a county office writes between several phones or tags in one cell.
SEPARATORS = re.compile(r"[、，,;；\s]+")


# The cadre status column: empty means in post.
ACTIVE_WORDS = {"在岗": True, "active": True, "停用": False, "disabled": False}


# --- reports --------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """What is wrong with one cell: row as Excel numbers it, column as the file heads it."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 / row {self.row} [{self.column}]: {self.message}"


@dataclass
class ImportReport:
    """What an import read, wrote and refused."""

    kind: str
    source: str
    read: int = 0
    # Records created and updated, and those found as they were (rows; for
    # links and leaders, links).
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # False when bad rows refused the whole import: nothing was written.
    imported: bool = False

    def count_link(self, *, replacing: bool) -> None:
        """Count a link made: an update when it replaced a current one, else created."""
        if replacing:
            self.updated += 1
        else:
            self.created += 1


class _Faults:
    """The errors found in a table, at most one per cell (the first found)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.errors: list[RowError] = []
        self.rows: set[int] = set()
        self._cells: set[tuple[int, str]] = set()

    def add(self, row: Row, key: str, message: str) -> None:
        if (row.number, key) in self._cells:
            return
        self._cells.add((row.number, key))
        self.rows.add(row.number)
        self.errors.append(RowError(row.number, self.table.header(key), message))

    def validate(
        self,
        row: Row,
        schema: Schema,
        data: Mapping[str, object],
        columns: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Load ``data`` with a shared schema; its errors go to the cells the fields came from.

        Empty cells are left out, so the schema says "required" for them.
        """
        try:
            given = {name: value for name, value in data.items() if value not in ("", [], None)}
            loaded: dict[str, Any] = schema.load(given)
            return loaded
        except ValidationError as invalid:
            assert isinstance(invalid.messages, dict)
            for name, messages in invalid.messages.items():
                key = (columns or {}).get(name, name)
                self.add(row, key, "；".join(_flatten(messages)))
            return {}

    def required(self, row: Row, *keys: str) -> bool:
        """Whether all these cells are filled; the empty ones are reported."""
        for key in keys:
            if not row[key]:
                self.add(row, key, REQUIRED)
        return all(row[key] for key in keys)

    def repeated(self, rows: Sequence[Row], *keys: str, message: str) -> None:
        """Report every row whose cells at ``keys`` are the same as another row's.

        All of them, not only the later ones: which row is right is for the
        user to say.
        """
        seen: dict[tuple[str, ...], list[int]] = {}
        for row in rows:
            if all(row[key] for key in keys):
                seen.setdefault(tuple(row[key] for key in keys), []).append(row.number)
        for row in rows:
            numbers = seen.get(tuple(row[key] for key in keys), [])
            if len(numbers) > 1:
                zh, en = "、".join(map(str, numbers)), ", ".join(map(str, numbers))
                self.add(row, keys[-1], message.format(rows=zh, rows_en=en))

    def good(self, rows: Iterable[Row]) -> list[Row]:
        return [row for row in rows if row.number not in self.rows]

    def finish(self, report: ImportReport, skip_bad_rows: bool) -> bool:
        """Put the errors in the report; whether the import goes ahead."""
        report.errors = sorted(self.errors, key=lambda error: error.row)
        report.imported = skip_bad_rows or not self.errors
        report.skipped = len(self.rows) if report.imported else report.read
        return report.imported


def _flatten(messages: object) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _flatten(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _flatten(value)]
    return [str(messages)]


def _report(table: Table) -> ImportReport:
    return ImportReport(
        table.layout.kind,
        table.source,
        read=len(table.rows),
        ignored_columns=table.ignored_columns,
    )


def _summarize(session: Session, actor: Actor, report: ImportReport) -> None:
    record(
        session,
        actor,
        "import",
        report.kind,
        None,
        {
            "file": report.source,
            "rows": report.read,
            "created": report.created,
            "updated": report.updated,
            "skipped": report.skipped,
        },
    )


# --- vocabulary and lookups -------------------------------------------------------


@cache
def _codes(enum: type[Labelled]) -> dict[str, str]:
    """Every way a sheet may name a code: the code, its Chinese or its English label."""
    return {normal(name): m.value for m in enum for name in (m.value, m.zh, m.en)}


def _choices(enum: type[Labelled]) -> str:
    return f"应为 {'、'.join(m.zh for m in enum)} 之一 / must be one of {', '.join(enum.codes())}"


def _labelled(faults: _Faults, row: Row, key: str, enum: type[Labelled]) -> str:
    """The code a cell names; an unknown one is reported and returned as written."""
    value = row[key]
    code = _codes(enum).get(normal(value))
    if value and code is None:
        faults.add(row, key, f"“{value}”: {_choices(enum)}")
    return code or value


def _county(session: Session) -> uuid.UUID:
    county: uuid.UUID | None = session.scalar(select(County.id))
    if county is None:
        raise ImportRefused(
            "数据库中还没有县，请先运行 minqing db init / the database has no county yet: run `minqing db init` first"
        )
    return county


@dataclass(frozen=True)
class _CadreFacts:
    id: uuid.UUID
    name: str
    active: bool


def _cadre_by_phone(
    faults: _Faults,
    row: Row,
    cadres: Mapping[str, _CadreFacts],
    phone_key: str,
    name_key: str,
) -> _CadreFacts | None:
    """The active cadre a row's phone names, checked against the name beside it."""
    phone, name = row[phone_key], row[name_key]
    if not phone:
        if name:
            faults.add(
                row,
                phone_key,
                "只写姓名无法确定干部，请填电话 / a name alone does not identify a cadre: give the phone",
            )
        return None
    try:
        validate_phone(phone)
    except ValidationError as invalid:
        faults.add(row, phone_key, "；".join(_flatten(invalid.messages)))
        return None
    cadre = cadres.get(phone)
    if cadre is None:
        faults.add(
            row,
            phone_key,
            f"没有电话为 {phone} 的干部（请先导入干部） / no cadre has the phone {phone} (import the cadres first)",
        )
        return None
    if not cadre.active:
        faults.add(
            row,
            phone_key,
            f"干部{cadre.name}（{phone}）已停用，不能挂钩 / {cadre.name} ({phone}) is disabled and cannot be linked",
        )
        return None
    if name and name != cadre.name:
        faults.add(
            row,
            name_key,
            f"电话 {phone} 登记的干部是{cadre.name}，不是{name} / the phone {phone} belongs to {cadre.name}, not {name}",
        )
        return None
    return cadre


def _cadre_facts(session: Session) -> dict[str, _CadreFacts]:
    return {
        phone: _CadreFacts(cadre_id, name, active)
        for phone, cadre_id, name, active in session.execute(
            select(Cadre.phone, Cadre.id, Cadre.name, Cadre.active)
        )
    }


# --- villages ---------------------------------------------------------------------


def import_villages(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """Create the towns, villages and grids the rows name that are not there yet."""
    county_id = _county(session)
    report = _report(table)
    faults = _Faults(table)
    town_schema = TownSchema(partial=("id",))
    village_schema = VillageSchema(partial=("id", "town_id"))
    grid_schema = GridSchema(partial=("id", "village_id"))
    for row in table.rows:
        faults.validate(row, town_schema, {"name": row["town"]}, {"name": "town"})
        if row["village"]:
            faults.validate(row, village_schema, {"name": row["village"]}, {"name": "village"})
        if row["grid"]:
            if not row["village"]:
                faults.add(row, "village", "写了网格须写明所属的村 / a grid needs its village")
            faults.validate(row, grid_schema, {"name": row["grid"]}, {"name": "grid"})
    if not faults.finish(report, skip_bad_rows):
        return report

    towns = dict(
        session.execute(select(Town.name, Town.id).where(Town.county_id == county_id)).all()
    )
    villages = {
        (town_id, name): village_id
        for town_id, name, village_id in session.execute(
            select(Village.town_id, Village.name, Village.id)
        )
    }
    grids = {
        (village_id, name): grid_id
        for village_id, name, grid_id in session.execute(
            select(Grid.village_id, Grid.name, Grid.id)
        )
    }

    def place(
        known: dict[Any, uuid.UUID],
        key: Any,
        entity: str,
        model: type[Town | Village | Grid],
        facts: dict[str, Any],
    ) -> tuple[uuid.UUID, bool]:
        """The place's id, made if it is new; and whether it was."""
        if key in known:
            return known[key], False
        made = model(id=new_id(), **facts)
        session.add(made)
        record(session, actor, "create", entity, made.id, facts)
        known[key] = made.id
        report.created += 1
        return made.id, True

    for row in faults.good(table.rows):
        town_id, new = place(
            towns, row["town"], "town", Town, {"county_id": county_id, "name": row["town"]}
        )
        if row["village"]:
            village_id, new = place(
                villages,
                (town_id, row["village"]),
                "village",
                Village,
                {"town_id": town_id, "name": row["village"]},
            )
            if row["grid"]:
                _, new = place(
                    grids,
                    (village_id, row["grid"]),
                    "grid",
                    Grid,
                    {"village_id": village_id, "name": row["grid"]},
                )
        # The row asks for its most specific place; whether that was new says
        # whether the row changed anything.
        report.unchanged += not new
    _summarize(session, actor, report)
    return report


# --- cadres -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    kind: str
    town_id: uuid.UUID | None
    town: str


def import_cadres(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """Create cadres, or update those whose phone is already known; create their work units."""
    report = _report(table)
    faults = _Faults(table)
    towns = dict(session.execute(select(Town.name, Town.id)).all())
    units = {
        unit.name: unit
        for unit in session.scalars(select(WorkUnit))  # a county has a few hundred
    }
    town_names: dict[uuid.UUID | None, str] = {town_id: name for name, town_id in towns.items()}
    # A new unit is defined by the first row that names it; later rows must agree.
    wanted_units: dict[str, _Unit] = {}
    cadre_schema = CadreSchema(partial=("id", "unit_id"))
    unit_schema = WorkUnitSchema(partial=("id", "town_id"))
    faults.repeated(
        table.rows,
        "phone",
        message="电话在本文件中重复（第 {rows} 行） / the phone appears more than once in this file (rows {rows_en})",
    )
    checked: list[tuple[Row, dict[str, Any], str]] = []
    for row in table.rows:
        rank = _labelled(faults, row, "rank", Rank)
        kind = _labelled(faults, row, "unit_kind", UnitKind)
        active = ACTIVE_WORDS.get(normal(row["active"] or "在岗"))
        if active is None:
            faults.add(
                row, "active", "应为 在岗 或 停用 / must be 在岗 (active) or 停用 (disabled)"
            )
        facts = faults.validate(
            row,
            cadre_schema,
            {"name": row["name"], "phone": row["phone"], "rank": rank, "active": active},
        )
        faults.validate(
            row,
            unit_schema,
            {"name": row["unit"], "kind": kind},
            {"name": "unit", "kind": "unit_kind"},
        )
        unit = _unit_of_row(faults, row, kind, towns)
        if unit is None or not row["unit"]:
            continue
        existing = units.get(row["unit"])
        known = (
            _Unit(existing.kind, existing.town_id, town_names.get(existing.town_id, ""))
            if existing is not None
            else wanted_units.setdefault(row["unit"], unit)
        )
        if known != unit:
            where = f"（{known.town}）" if known.town else ""
            faults.add(
                row,
                "unit_kind",
                f"单位“{row['unit']}”已是{UnitKind(known.kind).zh}{where}，与本行不符"
                f" / the unit '{row['unit']}' is already a {UnitKind(known.kind).en}"
                f"{f' of {known.town}' if known.town else ''}, which this row contradicts",
            )
        checked.append((row, facts, row["unit"]))
    if not faults.finish(report, skip_bad_rows):
        return report

    cadres = {cadre.phone: cadre for cadre in session.scalars(select(Cadre))}
    new_cadres = []
    for row, facts, unit_name in checked:
        if row.number in faults.rows:
            continue
        if unit_name not in units:
            wanted = wanted_units[unit_name]
            unit_facts = {
                "name": unit_name,
                "kind": UnitKind(wanted.kind),
                "town_id": wanted.town_id,
            }
            units[unit_name] = WorkUnit(id=new_id(), county_id=_county(session), **unit_facts)
            session.add(units[unit_name])
            record(session, actor, "create", "work_unit", units[unit_name].id, unit_facts)
        facts = {**facts, "rank": Rank(facts["rank"]), "unit_id": units[unit_name].id}
        cadre = cadres.get(facts["phone"])
        if cadre is None:
            new_cadres.append({"id": new_id(), "created_at": utcnow(), **facts})
            record(session, actor, "create", "cadre", new_cadres[-1]["id"], facts)
            report.created += 1
            continue
        changes = {
            name: [getattr(cadre, name), value]
            for name, value in facts.items()
            if getattr(cadre, name) != value
        }
        if changes:
            for name, (_, value) in changes.items():
                setattr(cadre, name, value)
            record(session, actor, "update", "cadre", cadre.id, changes)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()  # the new units, before the cadres that refer to them
    if new_cadres:
        session.execute(insert(Cadre), numbered(session, _county(session), new_cadres))
    _summarize(session, actor, report)
    return report


def _unit_of_row(
    faults: _Faults, row: Row, kind: str, towns: Mapping[str, uuid.UUID]
) -> _Unit | None:
    """The unit kind and town a row gives; a town office needs its town, a department none."""
    town = row["unit_town"]
    if kind == UnitKind.TOWN_OFFICE:
        if not town:
            faults.add(
                row, "unit_town", "镇机关须填所属镇 / a town office needs the town it belongs to"
            )
            return None
        if town not in towns:
            faults.add(row, "unit_town", _unknown_town(town))
            return None
        return _Unit(kind, towns[town], town)
    if kind == UnitKind.COUNTY_DEPARTMENT:
        if town:
            faults.add(
                row,
                "unit_town",
                "县直单位不属于镇，所属镇应留空 / a county department belongs to no town: leave it empty",
            )
            return None
        return _Unit(kind, None, "")
    return None


def _unknown_town(town: str) -> str:
    return f"没有名为“{town}”的镇（请先导入村网格） / no town named '{town}' (import the villages first)"


# --- households ---------------------------------------------------------------------


def import_households(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """Add new households, each linked to the cadre whose phone the row gives.

    A code already in the ledger is an error: importing the same file twice
    must not double the county's households, and changes to existing ones go
    through the console or ``import links``.
    """
    report = _report(table)
    faults = _Faults(table)
    grids = {
        (town, village, grid): grid_id
        for town, village, grid, grid_id in session.execute(
            select(Town.name, Village.name, Grid.name, Grid.id)
            .join(Village, Village.town_id == Town.id)
            .join(Grid, Grid.village_id == Village.id)
        )
    }
    towns = set(session.scalars(select(Town.name)))
    villages = {
        (town, village)
        for town, village in session.execute(
            select(Town.name, Village.name).join(Village, Village.town_id == Town.id)
        )
    }
    cadres = _cadre_facts(session)
    existing = set(session.scalars(select(Household.code)))
    schema = HouseholdSchema(partial=("id", "grid_id"))
    faults.repeated(
        table.rows,
        "code",
        message="户编号在本文件中重复（第 {rows} 行） / the household code appears more than once in this file (rows {rows_en})",
    )
    now = utcnow()
    households: list[dict[str, Any]] = []
    cadre_of: dict[uuid.UUID, uuid.UUID] = {}
    for row in table.rows:
        if row["code"] in existing:
            faults.add(
                row,
                "code",
                f"户编号 {row['code']} 已在台帐中（重复导入？）"
                f" / the household code {row['code']} is already in the ledger (imported twice?)",
            )
        facts = faults.validate(
            row,
            schema,
            {
                "code": row["code"],
                "head_name": row["head_name"],
                "members": _whole_number(row["members"]),
                "address": row["address"],
                "phones": _split(row["phones"]),
                "tags": _tags(faults, row),
                "notes": row["notes"],
            },
        )
        grid_id = _grid_of_row(faults, row, towns, villages, grids)
        cadre = _cadre_by_phone(faults, row, cadres, "cadre_phone", "cadre_name")
        if row.number in faults.rows or grid_id is None:
            continue
        households.append({"id": new_id(), "grid_id": grid_id, **facts})
        if cadre is not None:
            cadre_of[households[-1]["id"]] = cadre.id
    if not faults.finish(report, skip_bad_rows):
        return report

    # Written a chunk at a time, so the rows SQLAlchemy builds for a whole
    # county's inserts never sit in memory together.
    for start in range(0, len(households), WRITE_CHUNK):
        _write_households(session, actor, households[start : start + WRITE_CHUNK], cadre_of, now)
    report.created = len(households)
    _summarize(session, actor, report)
    return report


def _write_households(
    session: Session,
    actor: Actor,
    households: list[dict[str, Any]],
    cadre_of: Mapping[uuid.UUID, uuid.UUID],
    now: datetime,
) -> None:
    """Insert households, their links and the audit entries of both, in bulk.

    The audit entries too: ORM objects for a county's would take hundreds of MB.
    """
    county_id = _county(session)
    session.execute(
        insert(Household),
        numbered(
            session, county_id, [{**h, "created_at": now, "updated_at": now} for h in households]
        ),
    )
    links = [(h["id"], cadre_of[h["id"]]) for h in households if h["id"] in cadre_of]
    if links:
        session.execute(
            insert(HouseholdLink),
            numbered(
                session,
                county_id,
                [
                    {"id": new_id(), "household_id": h, "cadre_id": c, "started_at": now}
                    for h, c in links
                ],
            ),
        )
    entries = [
        entry_values(
            actor,
            "create",
            "household",
            household["id"],
            {name: value for name, value in household.items() if name != "id"},
        )
        for household in households
    ]
    # The link as link_household records one, whoever makes it.
    entries += [
        entry_values(actor, "link", "household", h, {"cadre_id": [None, c]}) for h, c in links
    ]
    session.execute(insert(AuditEntry), entries)


def _whole_number(value: str) -> int | str:
    """A whole number as an int ("4" or "4.0"); anything else stays text for the schema to refuse."""
    if re.fullmatch(r"\d+(\.0*)?", value):
        return int(float(value))
    return value


def _split(cell: str) -> list[str]:
    return [part for part in SEPARATORS.split(cell) if part]


def _tags(faults: _Faults, row: Row) -> list[str]:
    names = _split(row["tags"])
    codes = _codes(HouseholdTag)
    unknown = [name for name in names if normal(name) not in codes]
    if unknown:
        faults.add(row, "tags", f"未知标签“{'、'.join(unknown)}”，{_choices(HouseholdTag)}")
    # Once each, in the order written.
    return list(dict.fromkeys(codes[normal(n)] for n in names if normal(n) in codes))


def _grid_of_row(
    faults: _Faults,
    row: Row,
    towns: set[str],
    villages: set[tuple[str, str]],
    grids: Mapping[tuple[str, str, str], uuid.UUID],
) -> uuid.UUID | None:
    if not faults.required(row, "town", "village", "grid"):
        return None
    town, village, grid = row["town"], row["village"], row["grid"]
    if town not in towns:
        faults.add(row, "town", _unknown_town(town))
    elif (town, village) not in villages:
        faults.add(
            row,
            "village",
            f"{town}没有名为“{village}”的村 / {town} has no village named '{village}'",
        )
    elif (town, village, grid) not in grids:
        faults.add(
            row, "grid", f"{village}没有名为“{grid}”的网格 / {village} has no grid named '{grid}'"
        )
    return grids.get((town, village, grid))


# --- links ----------------------------------------------------------------------------


def import_links(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """(Re)assign households to cadres, keeping the history of who covered each.

    An empty phone leaves the household as it is, so the 农户 sheet of an
    export, with its households not yet linked, imports as links too.
    """
    report = _report(table)
    faults = _Faults(table)
    households = {
        code: (household_id, deleted_at is not None)
        for code, household_id, deleted_at in session.execute(
            select(Household.code, Household.id, Household.deleted_at)
        )
    }
    cadres = _cadre_facts(session)
    faults.repeated(
        table.rows,
        "code",
        message="农户在本文件中出现多次（第 {rows} 行），不能同时挂给几名干部"
        " / the household appears more than once in this file (rows {rows_en}): it can have one cadre only",
    )
    wanted: list[tuple[uuid.UUID, uuid.UUID]] = []
    for row in table.rows:
        household = households.get(row["code"])
        if faults.required(row, "code") and household is None:
            faults.add(
                row,
                "code",
                f"台帐中没有户编号 {row['code']} / no household in the ledger has the code {row['code']}",
            )
        elif household is not None and household[1]:
            faults.add(
                row, "code", f"农户 {row['code']} 已注销 / household {row['code']} has been removed"
            )
        cadre = _cadre_by_phone(faults, row, cadres, "cadre_phone", "cadre_name")
        if household is not None and cadre is not None and row.number not in faults.rows:
            wanted.append((household[0], cadre.id))
    if not faults.finish(report, skip_bad_rows):
        return report

    current = dict(
        session.execute(
            select(HouseholdLink.household_id, HouseholdLink.cadre_id).where(
                HouseholdLink.ended_at.is_(None)
            )
        ).all()
    )
    changes = [(h, c) for h, c in wanted if current.get(h) != c]
    report.unchanged = report.read - report.skipped - len(changes)
    cadre_rows = {cadre.id: cadre for cadre in session.scalars(select(Cadre))}
    at = utcnow()
    # Only the changed households are loaded, a chunk at a time (bound
    # parameters are limited, on SQLite to a few thousand per statement).
    for start in range(0, len(changes), 500):
        chunk = dict(changes[start : start + 500])
        for linked in session.scalars(select(Household).where(Household.id.in_(chunk))):
            link_household(session, actor, linked, cadre_rows[chunk[linked.id]], at)
            report.count_link(replacing=linked.id in current)
    _summarize(session, actor, report)
    return report


# --- village leaders ----------------------------------------------------------------------


def import_leaders(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """Set each village's county, town and county-department link leaders.

    An empty phone leaves that leader as it is; counts are per leader.
    """
    report = _report(table)
    faults = _Faults(table)
    villages = {
        (town, village.name): village
        for town, village in session.execute(
            select(Town.name, Village).join(Village, Village.town_id == Town.id)
        )
    }
    towns = set(session.scalars(select(Town.name)))
    cadres = _cadre_facts(session)
    faults.repeated(
        table.rows,
        "town",
        "village",
        message="村在本文件中出现多次（第 {rows} 行） / the village appears more than once in this file (rows {rows_en})",
    )
    wanted: list[tuple[Village, LeaderRole, uuid.UUID]] = []
    for row in table.rows:
        village = villages.get((row["town"], row["village"]))
        if faults.required(row, "town", "village") and village is None:
            if row["town"] not in towns:
                faults.add(row, "town", _unknown_town(row["town"]))
            else:
                faults.add(
                    row,
                    "village",
                    f"{row['town']}没有名为“{row['village']}”的村"
                    f" / {row['town']} has no village named '{row['village']}'",
                )
        leaders = [
            (
                role,
                _cadre_by_phone(faults, row, cadres, f"{role.value}_phone", f"{role.value}_name"),
            )
            for role in LeaderRole
        ]
        if village is not None and row.number not in faults.rows:
            wanted += [(village, role, cadre.id) for role, cadre in leaders if cadre is not None]
    if not faults.finish(report, skip_bad_rows):
        return report

    current = {
        (village_id, role): cadre_id
        for village_id, role, cadre_id in session.execute(
            select(VillageLink.village_id, VillageLink.role, VillageLink.cadre_id).where(
                VillageLink.ended_at.is_(None)
            )
        )
    }
    cadre_rows = {cadre.id: cadre for cadre in session.scalars(select(Cadre))}
    at = utcnow()
    for village, role, cadre_id in wanted:
        before = current.get((village.id, role))
        if before == cadre_id:
            report.unchanged += 1
            continue
        set_village_leader(session, actor, village, role, cadre_rows[cadre_id], at)
        report.count_link(replacing=before is not None)
    _summarize(session, actor, report)
    return report


def import_departments(
    session: Session, actor: Actor, table: Table, *, skip_bad_rows: bool = False
) -> ImportReport:
    """Add the departments issues are passed to; a name already listed has its
    kind and phone updated (an empty cell leaves them as they are)."""
    county_id = _county(session)
    report = _report(table)
    faults = _Faults(table)
    faults.repeated(
        table.rows,
        "name",
        message="部门在第 {rows} 行重复 / the department repeats on rows {rows_en}",
    )
    for row in table.rows:
        if faults.required(row, "name"):
            kind = _labelled(faults, row, "kind", DepartmentKind) if row["kind"] else "other"
            try:
                departments.checked(row["name"], kind, row["phone"])
            except departments.DepartmentError as refused:
                faults.add(row, "name", str(refused))
    if not faults.finish(report, skip_bad_rows):
        return report
    listed = {department.name: department for department in departments.listed(session, county_id)}
    for row in faults.good(table.rows):
        known = listed.get(row["name"].strip())
        if known is None:
            kind = _labelled(faults, row, "kind", DepartmentKind) if row["kind"] else "other"
            listed[row["name"].strip()] = departments.add(
                session, actor, county_id, row["name"], kind, row["phone"]
            )
            report.created += 1
            continue
        kind = _labelled(faults, row, "kind", DepartmentKind) if row["kind"] else known.kind
        phone = row["phone"] or known.phone
        if (kind, phone.strip()) == (known.kind, known.phone):
            report.unchanged += 1
            continue
        departments.change(session, actor, known, known.name, kind, phone)
        report.updated += 1
    _summarize(session, actor, report)
    return report


IMPORTERS = {
    "departments": import_departments,
    "villages": import_villages,
    "cadres": import_cadres,
    "households": import_households,
    "links": import_links,
    "leaders": import_leaders,
}
