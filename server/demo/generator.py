"""The demo county: the 2015 report's Dongshan as a full, deterministic ledger.

Everything comes from one ``random.Random(seed)`` and the ``as_of`` day, ids
included, so the same arguments always give the same rows. Counties are
generated and inserted village by village, so memory stays flat at any scale.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.services import hash_password
from server.audit.services import Actor, record
from server.config import DEFAULT_SERVICE_NUMBERS
from server.db import Base
from server.demo.activity import Fieldwork
from server.demo.cases import REPORT_CASES
from server.demo.context import Calendar, Covering, People, VillageLedger, new_id
from server.demo.names import (
    CASE_DEPARTMENTS,
    COASTAL_MARKS,
    COUNTY_DEPARTMENTS,
    FISHING_RATE,
    HOUSEHOLD_NOTES,
    INSPECTORS,
    LATITUDES,
    LEADERSHIP_UNITS,
    LONGITUDES,
    TAG_RATES,
    TOWNS,
)
from server.demo.photos import write_pictures
from server.demo.writer import Row, Writer
from server.issues import departments
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
from server.visits.services import refresh_last_visits
from shared.vocab import AccountRole, HouseholdTag, LeaderRole, Rank, UnitKind

DEMO_PASSWORD = "minqing-demo"
DEMO_ACTOR = Actor(via="demo")
DEFAULT_COUNTY = "东山县"

MEMBERS = (1, 2, 3, 4, 5, 6, 7, 8)
MEMBER_WEIGHTS = (8, 15, 20, 25, 17, 9, 4, 2)
PHONES_PER_HOUSEHOLD = ((0, 1, 2), (30, 52, 18))
GRID_HOUSEHOLDS = (60, 100)
CADRE_HOUSEHOLDS = (15, 30)
# A village's cadres: roughly half from its linked county department, the
# rest from its town's office.
DEPARTMENT_SHARE = (0.45, 0.65)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Shape:
    """One county's size: the report's figures (``DONGSHAN``), or smaller for tests."""

    villages_per_town: tuple[int, ...]
    households: int
    cadres: int
    leaders: int
    inspections: int

    def __post_init__(self) -> None:
        if len(self.villages_per_town) != len(TOWNS) or any(
            not 1 <= n <= len(names)
            for n, (_, _, names) in zip(self.villages_per_town, TOWNS, strict=True)
        ):
            raise ValueError(f"each of the {len(TOWNS)} towns needs 1 to all of its villages")
        if not 0 < self.leaders <= sum(self.villages_per_town):
            raise ValueError("each leader needs at least one village")


DONGSHAN = Shape(
    villages_per_town=tuple(len(names) for _, _, names in TOWNS),  # 61
    households=33_410,
    cadres=1_694,
    leaders=31,
    inspections=1_500,
)


class DemoRefused(Exception):
    """The demo only fills an empty ledger; the message is bilingual."""


def generate(
    session: Session,
    *,
    seed: int,
    as_of: date,
    scale: int = 1,
    shape: Shape = DONGSHAN,
    progress: Progress = lambda _: None,
) -> dict[str, int]:
    """Fill an empty ledger with ``scale`` demo counties; returns the rows written per table.

    The first county is the one already in the database (``minqing db init``
    makes it), or a new 东山县; further ones are named 东山县(2), 东山县(3)…
    """
    _refuse_unless_empty(session)
    rng = random.Random(seed)
    calendar = Calendar(as_of)
    writer = Writer(session.connection())
    people = People(rng)
    # argon2 takes ~50 ms a hash: one hash serves every demo account.
    password_hash = hash_password(DEMO_PASSWORD)
    first = session.scalar(select(County).order_by(County.name).limit(1))
    base_name = first.name if first else DEFAULT_COUNTY
    writer.add(
        Account,
        _account(rng, calendar, password_hash, "admin", "县级管理员", AccountRole.COUNTY_ADMIN),
    )
    write_pictures(writer, calendar.established)
    for number in range(1, scale + 1):
        name = base_name if number == 1 else f"{base_name}({number})"
        # Drawn even when the county exists, so the random stream does not
        # depend on what ``db init`` left.
        county_id = new_id(rng)
        existing = session.scalar(select(County).where(County.name == name))
        if existing is None:
            writer.add(
                County,
                {"id": county_id, "name": name, "service_numbers": DEFAULT_SERVICE_NUMBERS},
            )
        else:
            county_id = existing.id
        writer.county_id = county_id
        county = CountyGenerator(rng, writer, calendar, people, shape, password_hash, number)
        county.run(county_id, name if scale > 1 else "", progress)
    writer.flush()
    # The visits went in as bulk inserts: each household's and cadre's latest, counted once.
    refresh_last_visits(session)
    counts = dict(sorted(writer.counts.items()))
    # The departments the demo's issues were passed to make each county's list.
    counts["department"] = departments.adopt_passed_names(session, calendar.established, None)
    record(
        session,
        DEMO_ACTOR,
        "generate",
        "ledger",
        None,
        {"seed": seed, "scale": scale, "as_of": as_of, **counts},
    )
    return counts


def _refuse_unless_empty(session: Session) -> None:
    def count(model: type[Base]) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    households, towns, cadres = count(Household), count(Town), count(Cadre)
    if households or towns or cadres:
        raise DemoRefused(
            f"台帐不是空的（已有 {households:,} 户、{towns} 个镇、{cadres:,} 名干部），"
            "演示数据只能装入新数据库：请换一个 DATABASE_URL 并先运行 minqing db init"
            f" / the ledger is not empty ({households:,} households, {towns} towns,"
            f" {cadres:,} cadres): the demo only fills a new database — point DATABASE_URL"
            " at a new one and run `minqing db init` first"
        )
    taken = session.scalars(
        select(Account.username)
        .where(
            or_(
                Account.username == "admin",
                *(
                    Account.username.like(f"{prefix}-%")
                    for prefix in ("town", "inspector", "leader")
                ),
            )
        )
        .order_by(Account.username)
    ).all()
    if taken:
        names = ", ".join(taken)
        raise DemoRefused(
            f"演示账号的用户名已被占用：{names}；请换一个新数据库"
            f" / usernames the demo needs are taken: {names} — use a new database"
        )


@dataclass
class TownPlan:
    id: uuid.UUID
    name: str
    pinyin: str
    office_id: uuid.UUID
    villages: list[VillagePlan] = field(default_factory=list)


@dataclass
class VillagePlan:
    """What is decided for a village before its households are made."""

    id: uuid.UUID
    name: str
    town: TownPlan
    households: int
    cadres: int = 0
    department_id: uuid.UUID | None = None
    leader_id: uuid.UUID | None = None


class CountyGenerator:
    """One county: towns, work units and leaders first, then village by village."""

    def __init__(
        self,
        rng: random.Random,
        writer: Writer,
        calendar: Calendar,
        people: People,
        shape: Shape,
        password_hash: str,
        number: int,
    ) -> None:
        self.rng = rng
        self.writer = writer
        self.calendar = calendar
        self.people = people
        self.shape = shape
        self.password_hash = password_hash
        # Work unit names, usernames and household codes are unique across
        # the database, so every county after the first marks its own.
        self.unit_suffix = "" if number == 1 else f"({number})"
        self.login_suffix = "" if number == 1 else f"-{number}"
        self.code_prefix = "" if number == 1 else f"{number:02d}-"

    def run(self, county_id: uuid.UUID, label: str, progress: Progress) -> None:
        towns = self._towns(county_id)
        villages = [village for town in towns for village in town.villages]
        self._assign_departments(villages)
        self._assign_leaders(villages)
        fieldwork = Fieldwork(
            self.rng,
            self.writer,
            self.calendar,
            self._inspectors(),
            self.shape.inspections / self.shape.households,
        )
        self.writer.flush()
        for town in towns:
            started = time.monotonic()
            for village in town.villages:
                self._village(village, fieldwork)
            households = sum(village.households for village in town.villages)
            progress(
                f"{label + ' ' if label else ''}{town.name}: {len(town.villages)} 个村 / villages,"
                f" {households:,} 户 / households ({time.monotonic() - started:.1f} s)"
            )

    # --- the county ---------------------------------------------------------

    def _towns(self, county_id: uuid.UUID) -> list[TownPlan]:
        rng = self.rng
        towns = []
        for (name, pinyin, village_names), count in zip(
            TOWNS, self.shape.villages_per_town, strict=True
        ):
            town = TownPlan(id=new_id(rng), name=name, pinyin=pinyin, office_id=new_id(rng))
            self.writer.add(Town, {"id": town.id, "county_id": county_id, "name": name})
            self._unit(town.office_id, f"{name}人民政府", UnitKind.TOWN_OFFICE, town.id)
            self.writer.add(
                Account,
                self._account(
                    f"town-{pinyin}{self.login_suffix}",
                    f"{name}管理员",
                    AccountRole.TOWN_ADMIN,
                    town_id=town.id,
                ),
            )
            town.villages = [
                VillagePlan(id=new_id(rng), name=village, town=town, households=0)
                for village in village_names[:count]
            ]
            towns.append(town)
        villages = [village for town in towns for village in town.villages]
        sizes = _apportion(self.shape.households, [rng.uniform(0.5, 1.6) for _ in villages])
        cadres = _apportion(self.shape.cadres, sizes)
        for village, households, cadre_count in zip(villages, sizes, cadres, strict=True):
            village.households = households
            village.cadres = cadre_count
        return towns

    def _assign_departments(self, villages: list[VillagePlan]) -> None:
        """Each county department links one or two villages; the report's
        departments link the villages of the report's cases."""
        units = {name: new_id(self.rng) for name in COUNTY_DEPARTMENTS}
        for name, unit_id in units.items():
            self._unit(unit_id, name, UnitKind.COUNTY_DEPARTMENT)
        others = [name for name in COUNTY_DEPARTMENTS if name not in CASE_DEPARTMENTS.values()]
        self.rng.shuffle(others)
        rest = [village for village in villages if village.name not in CASE_DEPARTMENTS]
        # Shuffled, so a department's two villages may be anywhere in the county.
        self.rng.shuffle(rest)
        for village in villages:
            if village.name in CASE_DEPARTMENTS:
                village.department_id = units[CASE_DEPARTMENTS[village.name]]
        for i, village in enumerate(rest):
            village.department_id = units[others[i % len(others)]]

    def _assign_leaders(self, villages: list[VillagePlan]) -> None:
        """The division-level leaders (处级干部), each the county link leader of
        one or two neighbouring villages."""
        units = [new_id(self.rng) for _ in LEADERSHIP_UNITS]
        for unit_id, name in zip(units, LEADERSHIP_UNITS, strict=True):
            self._unit(unit_id, name, UnitKind.COUNTY_DEPARTMENT)
        leaders = [
            self._cadre(
                units[i % len(units)],
                Rank.DIVISION_LEADER,
                f"leader-{i + 1:02d}{self.login_suffix}",
            )
            for i in range(self.shape.leaders)
        ]
        for i, village in enumerate(villages):
            village.leader_id = leaders[i * len(leaders) // len(villages)]

    def _inspectors(self) -> list[uuid.UUID]:
        accounts = [
            self._account(f"{username}{self.login_suffix}", display_name, AccountRole.INSPECTOR)
            for username, display_name in INSPECTORS
        ]
        for account in accounts:
            self.writer.add(Account, account)
        return [account["id"] for account in accounts]

    def _unit(
        self, unit_id: uuid.UUID, name: str, kind: UnitKind, town_id: uuid.UUID | None = None
    ) -> None:
        self.writer.add(
            WorkUnit,
            {"id": unit_id, "name": name + self.unit_suffix, "kind": kind, "town_id": town_id},
        )

    def _cadre(self, unit_id: uuid.UUID, rank: Rank, username: str | None = None) -> uuid.UUID:
        """A cadre and their account: a leader's is ``leader-NN``, anyone else's is their phone."""
        cadre_id = new_id(self.rng)
        name = self.people.name(female=self.rng.random() < 0.4)
        phone = self.people.cadre_phone()
        self.writer.add(
            Cadre,
            {
                "id": cadre_id,
                "name": name,
                "unit_id": unit_id,
                "phone": phone,
                "rank": rank,
                "active": True,
                "created_at": self.calendar.established,
            },
        )
        role = AccountRole.VILLAGE_LEADER if rank == Rank.DIVISION_LEADER else AccountRole.CADRE
        self.writer.add(Account, self._account(username or phone, name, role, cadre_id=cadre_id))
        return cadre_id

    def _account(
        self, username: str, display_name: str, role: AccountRole, **place: uuid.UUID
    ) -> Row:
        """``_account`` from this county's random stream; ``place`` is its town_id or cadre_id."""
        return _account(
            self.rng, self.calendar, self.password_hash, username, display_name, role, **place
        )

    # --- a village ------------------------------------------------------------

    def _village(self, plan: VillagePlan, fieldwork: Fieldwork) -> None:
        """A village's grids, households, cadres, links and year, written in one flush."""
        rng = self.rng
        town = plan.town
        self.writer.add(Village, {"id": plan.id, "town_id": town.id, "name": plan.name})
        ledger = VillageLedger(
            village_id=plan.id,
            village=plan.name,
            town=town.name,
            latitude=round(rng.uniform(*LATITUDES), 6),
            longitude=round(rng.uniform(*LONGITUDES), 6),
        )
        households = self._households(plan)
        self._cover(plan, ledger, households)
        self._link_leaders(plan, ledger)

        fieldwork.year_of(ledger)
        case = REPORT_CASES.get(plan.name)
        if case is not None:
            case(fieldwork, ledger)
        fieldwork.inspections(ledger)
        # Households go in last: a report case may have renamed or tagged one.
        for household in households:
            self.writer.add(Household, household)
        self.writer.flush()

    def _cover(self, plan: VillagePlan, ledger: VillageLedger, households: list[Row]) -> None:
        """The village's cadres, each taking a contiguous run of households in
        grid order (就近方便入户): about half from its county department, the
        rest from its town's office."""
        rng = self.rng
        loads = _split(rng, plan.households, plan.cadres, *CADRE_HOUSEHOLDS)
        from_department = round(plan.cadres * rng.uniform(*DEPARTMENT_SHARE))
        from_department = min(max(from_department, 1), plan.cadres - 1)
        sources = [True] * from_department + [False] * (plan.cadres - from_department)
        rng.shuffle(sources)
        start = 0
        for load, is_department in zip(loads, sources, strict=True):
            unit_id = plan.department_id if is_department else plan.town.office_id
            assert unit_id is not None
            rank = Rank.COUNTY_CADRE if is_department else Rank.TOWN_CADRE
            covering = Covering(
                self._cadre(unit_id, rank), is_department, households[start : start + load]
            )
            start += load
            ledger.coverings.append(covering)
            for household in covering.households:
                self.writer.add(
                    HouseholdLink,
                    {
                        "id": new_id(rng),
                        "household_id": household["id"],
                        "cadre_id": covering.cadre_id,
                        "started_at": self.calendar.established,
                        "ended_at": None,
                    },
                )

    def _link_leaders(self, plan: VillagePlan, ledger: VillageLedger) -> None:
        """The village's three link leaders: its division-level leader, one of
        its town cadres and one of its county department's cadres."""
        rng = self.rng
        town_cadres = [c for c in ledger.coverings if not c.from_department]
        assert plan.leader_id is not None
        for role, cadre_id in (
            (LeaderRole.COUNTY, plan.leader_id),
            (LeaderRole.TOWN, rng.choice(town_cadres).cadre_id),
            (LeaderRole.DEPARTMENT, rng.choice(ledger.department_coverings()).cadre_id),
        ):
            self.writer.add(
                VillageLink,
                {
                    "id": new_id(rng),
                    "village_id": plan.id,
                    "role": role,
                    "cadre_id": cadre_id,
                    "started_at": self.calendar.established,
                    "ended_at": None,
                },
            )

    def _households(self, plan: VillagePlan) -> list[Row]:
        """The village's grids (网格, 60–100 households each) and their households."""
        rng = self.rng
        total = plan.households
        grids = max(1, round(total / 80))
        low, high = GRID_HOUSEHOLDS
        sizes = _split(rng, total, grids, min(low, total // grids), max(high, -(-total // grids)))
        coastal = any(mark in plan.name for mark in COASTAL_MARKS)
        households: list[Row] = []
        for number, size in enumerate(sizes, start=1):
            grid_id = new_id(rng)
            self.writer.add(Grid, {"id": grid_id, "village_id": plan.id, "name": f"第{number}网格"})
            for door in range(1, size + 1):
                members, tags = self._facts(coastal)
                notes = ""
                if rng.random() < 0.25:
                    topic = next((tag for tag in tags if tag in HOUSEHOLD_NOTES), "")
                    notes = rng.choice(HOUSEHOLD_NOTES[topic])
                households.append(
                    {
                        "id": new_id(rng),
                        "code": f"{self.code_prefix}{plan.name}-{number:02d}-{len(households) + 1:04d}",
                        "grid_id": grid_id,
                        "head_name": self.people.name(female=rng.random() < 0.15),
                        "members": members,
                        "address": f"{plan.town.name}{plan.name}第{number}网格{door}号",
                        "phones": [
                            self.people.phone()
                            for _ in range(rng.choices(*PHONES_PER_HOUSEHOLD)[0])
                        ],
                        "tags": tags,
                        "notes": notes,
                        "deleted_at": None,
                        "created_at": self.calendar.established,
                        "updated_at": self.calendar.established,
                    }
                )
        return households

    def _facts(self, coastal: bool) -> tuple[int, list[str]]:
        """A household's size and tags, kept consistent with each other."""
        rng = self.rng
        members = rng.choices(MEMBERS, MEMBER_WEIGHTS)[0]
        tags = {tag for tag, rate in TAG_RATES.items() if rng.random() < rate}
        if rng.random() < FISHING_RATE[coastal]:
            tags.add(HouseholdTag.FISHING.value)
        if HouseholdTag.POOR in tags and rng.random() < 0.5:
            tags.add(HouseholdTag.LOW_INCOME.value)
        if HouseholdTag.ELDERLY_ALONE in tags:
            members = 1
            tags -= {HouseholdTag.STUDENT.value, HouseholdTag.LEFT_BEHIND_CHILD.value}
        elif tags & {HouseholdTag.STUDENT.value, HouseholdTag.LEFT_BEHIND_CHILD.value}:
            members = max(members, 3)
        return members, [code for code in HouseholdTag.codes() if code in tags]


def _account(
    rng: random.Random,
    calendar: Calendar,
    password_hash: str,
    username: str,
    display_name: str,
    role: AccountRole,
    *,
    town_id: uuid.UUID | None = None,
    cadre_id: uuid.UUID | None = None,
) -> Row:
    return {
        "id": new_id(rng),
        "username": username,
        "display_name": display_name,
        "password_hash": password_hash,
        "role": role,
        "town_id": town_id,
        "cadre_id": cadre_id,
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        "last_login_at": None,
        "created_at": calendar.established,
    }


def _apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers that add up
    exactly (largest remainder; ties go to the earlier part)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    parts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _split(rng: random.Random, total: int, parts: int, low: int, high: int) -> list[int]:
    """``total`` in ``parts`` uneven sizes, each from ``low`` to ``high``."""
    if not low * parts <= total <= high * parts:
        raise ValueError(f"{total} cannot be split into {parts} parts of {low}–{high}")
    sizes = [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
    for _ in range(parts * 2):
        give, take, amount = rng.randrange(parts), rng.randrange(parts), rng.randint(1, 5)
        if give != take and sizes[give] - amount >= low and sizes[take] + amount <= high:
            sizes[give] -= amount
            sizes[take] += amount
    return sizes
