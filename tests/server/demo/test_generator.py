"""The demo generator, on a small county: deterministic, complete, and the report's cases."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, aliased

from server.accounts import services as accounts
from server.accounts.models import Account
from server.audit.models import AuditEntry
from server.audit.services import SYSTEM
from server.db import make_engine
from server.demo.context import CHINA
from server.demo.generator import DEMO_PASSWORD, DemoRefused, Shape, generate
from server.inspections.models import Inspection
from server.issues.models import Department, Issue, IssueEvent
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
from server.ledger.services import check_integrity
from server.migrate import upgrade
from server.models import Base
from server.visits.models import Visit
from shared import schemas
from shared.vocab import AccountRole, IssueStatus, LeaderRole, Rank, VisitKind
from tests.conftest import BACKENDS, fresh_database_url

# The report's date: the demo's year is the report's year.
AS_OF = date(2015, 5, 27)
# Eight villages (the report's three among them), 1,600 households, 80 cadres.
SMALL = Shape(
    villages_per_town=(2, 1, 1, 1, 1, 1, 1),
    households=1_600,
    cadres=80,
    leaders=4,
    inspections=60,
)


def ledger_digest(connection: Connection) -> str:
    """A hash of every generated row, table by table in primary key order.

    Left out: the audit trail (it records the real time of the run), the
    database's epoch (random, per database) and password hashes (argon2
    salts each hash at random).
    """
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        if table.name in ("audit_entry", "sync_epoch"):
            continue
        columns = [column for column in table.columns if column.name != "password_hash"]
        for row in connection.execute(select(*columns).order_by(*table.primary_key)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def digest_of(connection: Connection, seed: int) -> str:
    """Generate in a savepoint, hash, and roll back."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        generate(session, seed=seed, as_of=AS_OF, shape=SMALL)
        session.flush()
        return ledger_digest(connection)


@pytest.fixture(scope="module")
def small_county(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A small county generated once per backend, for the tests that only read it."""
    url = fresh_database_url(backend, tmp_path_factory.mktemp("demo"), "demo_small")
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        generate(session, seed=2015, as_of=AS_OF, shape=SMALL)
    yield engine
    engine.dispose()


@pytest.fixture
def small(small_county: Engine) -> Iterator[Session]:
    """A session on the small county; whatever a test changes is rolled back."""
    with Session(small_county) as session:
        yield session
        session.rollback()


def test_the_same_seed_gives_the_same_rows_and_another_seed_different_ones(
    connection: Connection,
) -> None:
    first = digest_of(connection, seed=7)
    assert digest_of(connection, seed=7) == first
    assert digest_of(connection, seed=8) != first


def test_sqlite_and_postgresql_get_the_same_rows_from_the_same_seed(tmp_path: Path) -> None:
    digests = []
    for backend in BACKENDS:
        engine = make_engine(fresh_database_url(backend, tmp_path, "demo_twin"))
        try:
            upgrade(engine)
            with Session(engine) as session, session.begin():
                generate(session, seed=3, as_of=AS_OF, shape=SMALL)
            with engine.connect() as connection:
                digests.append(ledger_digest(connection))
        finally:
            engine.dispose()
    assert digests[0] == digests[1]


def test_a_small_county_passes_the_integrity_check(small: Session) -> None:
    report = check_integrity(small)
    assert report.breaches == {name: [] for name in report.breaches}
    assert report.counts["towns"] == 7
    assert report.counts["villages"] == 8
    assert report.counts["households"] == 1_600
    # Household cadres and the division-level leaders, who link villages only.
    assert report.counts["cadres"] == 80 + 4
    assert small.scalar(select(func.count()).select_from(HouseholdLink)) == 1_600


def test_every_cadre_covers_15_to_30_households_in_one_run_of_one_village(small: Session) -> None:
    assert_cadre_loads(small, cadres=80, leaders=4, villages=8)


def test_the_report_s_three_cases_are_in_the_ledger(small: Session) -> None:
    assert_report_cases(small)


def test_the_demo_accounts_all_open_with_the_demo_password(small: Session) -> None:
    roles = dict(small.execute(select(Account.role, func.count()).group_by(Account.role)).all())
    assert roles == {
        AccountRole.COUNTY_ADMIN: 1,
        AccountRole.TOWN_ADMIN: 7,
        AccountRole.INSPECTOR: 2,
        AccountRole.VILLAGE_LEADER: 4,
        AccountRole.CADRE: 80,
    }
    usernames = set(small.scalars(select(Account.username)))
    assert {"admin", "town-qianlou", "town-chencheng", "inspector-xiaoneng"} <= usernames
    assert {"inspector-zuofeng", "leader-01", "leader-04"} <= usernames
    cadre_logins = small.execute(
        select(Account.username, Cadre.phone)
        .join(Cadre, Cadre.id == Account.cadre_id)
        .where(Account.role == AccountRole.CADRE)
    ).all()
    assert all(username == phone for username, phone in cadre_logins)
    hashes = set(small.scalars(select(Account.password_hash)))
    assert len(hashes) == 1
    assert accounts.check_password(hashes.pop(), DEMO_PASSWORD).matches


WIRE_FORMATS = [
    (Town, schemas.TownSchema),
    (Village, schemas.VillageSchema),
    (Grid, schemas.GridSchema),
    (Household, schemas.HouseholdSchema),
    (WorkUnit, schemas.WorkUnitSchema),
    (Cadre, schemas.CadreSchema),
    (HouseholdLink, schemas.HouseholdLinkSchema),
    (VillageLink, schemas.VillageLinkSchema),
    (Visit, schemas.VisitSchema),
    (Issue, schemas.IssueSchema),
    (IssueEvent, schemas.IssueEventSchema),
    (Inspection, schemas.InspectionSchema),
]


@pytest.mark.parametrize(("model", "schema"), WIRE_FORMATS, ids=lambda x: x.__name__)
def test_generated_records_are_valid_in_the_wire_format(
    small: Session, model: type[Base], schema: type[schemas.Schema]
) -> None:
    """What phones and imports must send, the demo's records are too: valid
    phone numbers, known tags and codes, texts within their lengths."""
    loader = schema()
    rows = small.execute(select(model.__table__).order_by(model.__table__.c.id).limit(300))
    for row in rows.mappings():
        payload = {
            name: _wire(row[name])
            for name in loader.load_fields
            if name in row and row[name] is not None
        }
        assert loader.validate(payload) == {}, (payload, loader.validate(payload))


def _wire(value: object) -> object:
    """A value as JSON carries it."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def test_a_year_of_visits_leaves_some_households_unvisited_and_some_cadres_overdue(
    small: Session,
) -> None:
    first, last = small.execute(
        select(func.min(Visit.visited_at), func.max(Visit.visited_at))
    ).one()
    start_of_as_of = datetime_at(AS_OF)
    assert start_of_as_of - timedelta(days=366) <= first and last < start_of_as_of
    per_household = small.scalar(select(func.count()).select_from(Visit)) / 1_600
    assert 3 <= per_household <= 6
    unvisited = small.scalar(
        select(func.count())
        .select_from(Household)
        .where(~select(Visit.id).where(Visit.household_id == Household.id).exists())
    )
    assert 0 < unvisited < 0.1 * 1_600
    recent = select(Visit.id).where(
        Visit.cadre_id == Cadre.id, Visit.visited_at >= start_of_as_of - timedelta(days=30)
    )
    overdue = small.scalar(
        select(func.count())
        .select_from(Cadre)
        .where(Cadre.rank != Rank.DIVISION_LEADER, ~recent.exists())
    )
    assert 0 < overdue < 0.5 * 80
    assert small.scalar(select(func.max(Visit.recorded_at))) <= start_of_as_of


def test_issues_follow_their_path_and_some_are_still_open(small: Session) -> None:
    issues = small.scalars(select(Issue)).all()
    statuses = {issue.status for issue in issues}
    assert {IssueStatus.OPEN, IssueStatus.IN_PROGRESS, IssueStatus.HOUSEHOLD_INFORMED} <= statuses
    assert any(issue.household_id is None for issue in issues)
    allowed = {
        IssueStatus.OPEN: {IssueStatus.SOLVED_ON_SPOT, IssueStatus.PASSED_TO_DEPARTMENT},
        IssueStatus.PASSED_TO_DEPARTMENT: {IssueStatus.IN_PROGRESS, IssueStatus.SOLVED},
        IssueStatus.IN_PROGRESS: {IssueStatus.SOLVED},
        IssueStatus.SOLVED: {IssueStatus.HOUSEHOLD_INFORMED},
    }
    for issue in issues:
        path = [event.status for event in issue.events if event.status is not None]
        assert path[0] == IssueStatus.OPEN
        assert all(after in allowed[before] for before, after in zip(path, path[1:], strict=False))
        assert path[-1] == issue.status
        assert [event.at for event in issue.events] == sorted(event.at for event in issue.events)
        if IssueStatus.PASSED_TO_DEPARTMENT in path:
            assert issue.department


def test_inspectors_spot_check_households(small: Session) -> None:
    inspections = small.execute(
        select(Inspection, Account.role).join(Account, Account.id == Inspection.inspector_id)
    ).all()
    assert 20 <= len(inspections) <= 150
    assert {role for _, role in inspections} == {AccountRole.INSPECTOR}
    assert all(inspection.inspected_on < AS_OF for inspection, _ in inspections)
    assert all(inspection.inspected_on.weekday() < 5 for inspection, _ in inspections)


def test_the_generation_is_recorded_once_in_the_audit_trail(small: Session) -> None:
    entry = small.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.entity, entry.entity_id) == ("generate", "ledger", None)
    assert entry.changes["via"] == "demo"
    assert entry.changes["household"] == 1_600
    assert entry.changes["seed"] == 2015


def test_a_second_county_gets_the_same_shape_under_its_own_names(session: Session) -> None:
    generate(session, seed=1, as_of=AS_OF, scale=2, shape=SMALL)
    assert check_integrity(session).ok
    counties = session.scalars(select(County.name).order_by(County.name)).all()
    assert counties == ["东山县", "东山县(2)"]
    assert session.scalar(select(func.count()).select_from(Household)) == 2 * 1_600
    names = set(session.scalars(select(WorkUnit.name)))
    assert {"县教育局", "县教育局(2)", "前楼镇人民政府(2)"} <= names
    usernames = set(session.scalars(select(Account.username)))
    assert {"town-qianlou-2", "inspector-zuofeng-2", "leader-04-2"} <= usernames


def test_a_ledger_that_already_has_households_is_refused(session: Session) -> None:
    generate(session, seed=1, as_of=AS_OF, shape=SMALL)
    with pytest.raises(DemoRefused, match="the ledger is not empty"):
        generate(session, seed=1, as_of=AS_OF, shape=SMALL)


def test_a_taken_demo_username_is_refused_before_anything_is_written(session: Session) -> None:
    accounts.create_account(
        session, SYSTEM, username="admin", password="x" * 8, role=AccountRole.COUNTY_ADMIN,
        password_hash="not-a-real-hash",
    )  # fmt: skip
    with pytest.raises(DemoRefused, match="taken: admin"):
        generate(session, seed=1, as_of=AS_OF, shape=SMALL)
    assert session.scalar(select(func.count()).select_from(Town)) == 0


# --- checks shared with the full-scale test ------------------------------------


def datetime_at(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA)


def assert_cadre_loads(session: Session, *, cadres: int, leaders: int, villages: int) -> None:
    """Each household cadre: 15–30 households, one village, a contiguous run of
    household numbers. Each division leader: no households, one or two villages."""
    rows = session.execute(
        select(Cadre.id, Cadre.rank, Household.code, Village.id)
        .join(HouseholdLink, HouseholdLink.cadre_id == Cadre.id)
        .join(Household, Household.id == HouseholdLink.household_id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(HouseholdLink.ended_at.is_(None))
    ).all()
    runs: dict[object, list[int]] = {}
    villages_of: dict[object, set[object]] = {}
    for cadre_id, rank, code, village_id in rows:
        assert rank != Rank.DIVISION_LEADER
        runs.setdefault(cadre_id, []).append(int(code.rsplit("-", 1)[1]))
        villages_of.setdefault(cadre_id, set()).add(village_id)
    assert len(runs) == cadres
    for cadre_id, numbers in runs.items():
        assert 15 <= len(numbers) <= 30
        assert len(villages_of[cadre_id]) == 1
        assert max(numbers) - min(numbers) + 1 == len(numbers)

    led = session.execute(
        select(VillageLink.cadre_id, func.count())
        .where(VillageLink.role == LeaderRole.COUNTY)
        .group_by(VillageLink.cadre_id)
    ).all()
    assert len(led) == leaders
    assert sum(count for _, count in led) == villages
    assert {count for _, count in led} <= {1, 2}
    county_leaders = select(VillageLink.cadre_id).where(VillageLink.role == LeaderRole.COUNTY)
    ranks = set(session.scalars(select(Cadre.rank).where(Cadre.id.in_(county_leaders))))
    assert ranks == {Rank.DIVISION_LEADER}


def village_id(session: Session, town: str, village: str) -> object:
    return session.scalar(
        select(Village.id).join(Town).where(Town.name == town, Village.name == village)
    )


def assert_report_cases(session: Session) -> None:
    """The report's three cases, with their departments, amounts and outcomes."""
    raiser = aliased(Cadre)
    unit = aliased(WorkUnit)

    def issues_in(village: object, *where: object) -> list[tuple[Issue, Household | None, str]]:
        return list(
            session.execute(
                select(Issue, Household, unit.name)
                .outerjoin(Household, Household.id == Issue.household_id)
                .join(raiser, raiser.id == Issue.raised_by_cadre_id)
                .join(unit, unit.id == raiser.unit_id)
                .where(Issue.village_id == village, *where)
                .order_by(Issue.raised_at, Issue.id)
            )
        )

    # 1. 前楼镇前楼村, 县教育局: nine 6,000 yuan loans; 11,000 yuan for 6 students
    # of 3 poor families, 林春武's among them; gaokao guidance visits.
    qianlou = village_id(session, "前楼镇", "前楼村")
    loans = issues_in(qianlou, Issue.department == "县教育局学生资助管理中心")
    assert len(loans) == 9
    assert {unit_name for _, _, unit_name in loans} == {"县教育局"}
    assert all(issue.aid_amount == Decimal(6000) for issue, _, _ in loans)
    assert all(issue.status == IssueStatus.HOUSEHOLD_INFORMED for issue, _, _ in loans)
    aid = issues_in(qianlou, Issue.description.contains("2名学生"))
    assert len(aid) == 3
    assert sum(issue.aid_amount for issue, _, _ in aid) == Decimal(11_000)
    assert "林春武" in {household.head_name for _, household, _ in aid}
    families = [household for _, household, _ in loans + aid]
    assert len({household.id for household in families}) == 12
    assert all({"poor", "student"} <= set(household.tags) for household in families)
    guidance = session.scalar(
        select(func.count())
        .select_from(Visit)
        .join(Household, Household.id == Visit.household_id)
        .join(Grid, Grid.id == Household.grid_id)
        .where(Grid.village_id == qianlou, Visit.notes.contains("填报志愿"))
    )
    assert guidance >= 12

    # 2. 康美镇康美村: 林光荣's goods returned the same day through the
    # 城管铜陵中队 by her 县公务员局 cadre, then a visit explaining the rules.
    kangmei = village_id(session, "康美镇", "康美村")
    ((issue, household, unit_name),) = issues_in(kangmei, Issue.department == "城管铜陵中队")
    assert household.head_name == "林光荣"
    assert unit_name == "县公务员局"
    steps = [(event.status, event.at.astimezone(CHINA).date()) for event in issue.events]
    assert [status for status, _ in steps] == [
        IssueStatus.OPEN,
        IssueStatus.PASSED_TO_DEPARTMENT,
        IssueStatus.SOLVED,
        IssueStatus.HOUSEHOLD_INFORMED,
    ]
    assert len({day for _, day in steps}) == 1
    linked_unit = session.scalar(
        select(WorkUnit.name)
        .join(Cadre, Cadre.unit_id == WorkUnit.id)
        .join(HouseholdLink, HouseholdLink.cadre_id == Cadre.id)
        .where(HouseholdLink.household_id == household.id, HouseholdLink.ended_at.is_(None))
    )
    assert linked_unit == "县公务员局"
    follow_ups = session.scalars(
        select(Visit).where(
            Visit.household_id == household.id,
            Visit.kind == VisitKind.HOME_VISIT,
            Visit.visited_at > issue.raised_at,
        )
    ).all()
    assert any("policy" in visit.roles and "城市管理" in visit.notes for visit in follow_ups)

    # 3. 樟塘镇后马村, 县旅游局: a village-wide ditch, passed to town and village,
    # solved within a month for over 10,000 yuan and 200-odd metres underground.
    houma = village_id(session, "樟塘镇", "后马村")
    ((ditch, nobody, unit_name),) = issues_in(
        houma, Issue.description.contains("排水沟"), Issue.household_id.is_(None)
    )
    assert nobody is None
    assert unit_name == "县旅游局"
    assert ditch.status == IssueStatus.HOUSEHOLD_INFORMED
    assert ditch.aid_amount is not None and ditch.aid_amount > 10_000
    assert "后马村" in ditch.department and "樟塘镇" in ditch.department
    solved = next(event for event in ditch.events if event.status == IssueStatus.SOLVED)
    assert solved.at - ditch.raised_at <= timedelta(days=31)
    metres = re.search(r"(\d+)米", solved.note)
    assert metres is not None and int(metres.group(1)) >= 200


def test_the_departments_issues_were_passed_to_make_the_countys_list(small: Session) -> None:
    passed = set(small.scalars(select(IssueEvent.department).where(IssueEvent.department != "")))
    assert "县教育局" in passed
    assert set(small.scalars(select(Department.name))) == passed
