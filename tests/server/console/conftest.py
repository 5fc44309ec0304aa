"""A small two-town county with an account for every console role, and a login helper."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bench.samples import phone_photo
from server.accounts import sessions
from server.accounts.models import Account
from server.accounts.services import create_account, hash_password
from server.audit.services import SYSTEM
from server.clock import utcnow
from server.db import db
from server.inspections.models import Inspection
from server.issues.models import Department, Issue, IssueEvent
from server.ledger.models import Cadre, Grid, Household, Town, Village
from server.ledger.services import link_household, set_village_leader
from server.photos.models import Photo
from server.photos.uploads import store_bytes
from server.visits.models import Visit
from shared.images import inspect_jpeg
from shared.protocol import PHOTO_CONTENT_TYPE
from shared.vocab import (
    AccountRole,
    DepartmentKind,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
    LeaderRole,
    ProblemSolved,
    Rank,
    Satisfaction,
    UnitKind,
    VisitKind,
)
from tests.builders import LedgerBuilder

PASSWORD = "minqing-demo"
_HASH = hash_password(PASSWORD)  # one argon2 hash for every test account


@dataclass
class County:
    """前楼镇 (前楼村 with two cadres, 后林村 with one) and 康美镇 (康美村 with one)."""

    town: Town
    other_town: Town
    village: Village
    second_village: Village
    other_village: Village
    grid: Grid
    cadre: Cadre  # 陈志明 of 前楼村: five households
    neighbour: Cadre  # 王丽 of 前楼村: three households
    other_cadre: Cadre  # 康美村's cadre
    disabled: Cadre
    leader: Cadre  # the division-level leader linked to 前楼村
    households: list[Household]  # 陈志明's, in code order
    other_household: Household
    issue: Issue  # in 前楼村, passed to 县教育局 40 days ago (30 days to solve it): overdue
    accounts: dict[str, Account] = field(default_factory=dict)
    # The county's list: 县教育局 (which has a department account), 县民政局, 县人社局.
    departments: dict[str, Department] = field(default_factory=dict)


def _visit(session: Session, cadre: Cadre, household: Household, at: datetime) -> None:
    session.add(
        Visit(
            id=uuid.uuid4(),
            cadre_id=cadre.id,
            household_id=household.id,
            visited_at=at,
            kind=VisitKind.HOME_VISIT,
            topics=["医保"],
            notes="了解情况",
        )
    )


@pytest.fixture
def county(session: Session) -> County:
    ledger = LedgerBuilder(session)
    now = utcnow()
    town, other_town = ledger.town("前楼镇"), ledger.town("康美镇")
    village = ledger.village("前楼村", town)
    second_village = ledger.village("后林村", town)
    other_village = ledger.village("康美村", other_town)
    grid = ledger.grid(village, "第1网格")
    office = ledger.unit("前楼镇人民政府", UnitKind.TOWN_OFFICE)
    office.town_id = town.id
    cadre = ledger.cadre("陈志明")
    neighbour = ledger.cadre("王丽", office, Rank.TOWN_CADRE)
    second = ledger.cadre("林海", office, Rank.TOWN_CADRE)
    other_cadre = ledger.cadre("黄强", ledger.unit("县公务员局"))
    disabled = ledger.cadre("退休的", office, Rank.TOWN_CADRE)
    disabled.active = False
    leader = ledger.cadre("郑书记", ledger.unit("县委办"), Rank.DIVISION_LEADER)

    households = [ledger.household(grid, head_name=f"林{n}") for n in range(5)]
    for household in households:
        link_household(session, SYSTEM, household, cadre)
    for n in range(3):
        link_household(session, SYSTEM, ledger.household(grid, head_name=f"王{n}"), neighbour)
    second_grid = ledger.grid(second_village, "第1网格")
    for n in range(3):
        link_household(session, SYSTEM, ledger.household(second_grid, head_name=f"许{n}"), second)
    other_grid = ledger.grid(other_village, "第1网格")
    other_households = [ledger.household(other_grid, head_name=f"康{n}") for n in range(3)]
    for household in other_households:
        link_household(session, SYSTEM, household, other_cadre)
    set_village_leader(session, SYSTEM, village, LeaderRole.COUNTY, leader)
    set_village_leader(session, SYSTEM, village, LeaderRole.TOWN, neighbour)
    set_village_leader(session, SYSTEM, village, LeaderRole.DEPARTMENT, cadre)

    # Visits: two of 陈志明's households lately, one 45 days ago, two never.
    _visit(session, cadre, households[0], now - timedelta(days=3))
    _visit(session, cadre, households[1], now - timedelta(days=10))
    _visit(session, cadre, households[2], now - timedelta(days=45))

    issue = Issue(
        id=uuid.uuid4(),
        village_id=village.id,
        household_id=households[0].id,
        raised_by_cadre_id=cadre.id,
        raised_at=now - timedelta(days=50),
        category=IssueCategory.EDUCATION,
        description="孩子上大学的助学贷款",
        status=IssueStatus.PASSED_TO_DEPARTMENT,
        department="县教育局",
        aid_amount=Decimal("6000"),
    )
    session.add(issue)
    session.flush()
    for days, status, department in (
        (50, IssueStatus.OPEN, ""),
        (40, IssueStatus.PASSED_TO_DEPARTMENT, "县教育局"),
    ):
        session.add(
            IssueEvent(
                id=uuid.uuid4(),
                issue_id=issue.id,
                at=now - timedelta(days=days),
                kind=IssueEventKind.STATUS,
                status=status,
                department=department,
                cadre_id=cadre.id,
                due_at=now - timedelta(days=10) if department else None,
            )
        )
    departments = {
        name: Department(
            id=uuid.uuid4(),
            county_id=town.county_id,
            name=name,
            kind=DepartmentKind.COUNTY_BUREAU,
            phone="0596-5882000",
        )
        for name in ("县教育局", "县民政局", "县人社局")
    }
    session.add_all(departments.values())
    inspector = _account(session, "inspector", AccountRole.INSPECTOR)
    session.add(
        Inspection(
            id=uuid.uuid4(),
            inspector_id=inspector.id,
            household_id=households[0].id,
            inspected_on=(now - timedelta(days=5)).date(),
            knows_cadre=True,
            problem_solved=ProblemSolved.PARTLY,
            satisfaction=Satisfaction.BASICALLY,
        )
    )
    found = County(
        town=town,
        other_town=other_town,
        village=village,
        second_village=second_village,
        other_village=other_village,
        grid=grid,
        cadre=cadre,
        neighbour=neighbour,
        other_cadre=other_cadre,
        disabled=disabled,
        leader=leader,
        households=households,
        other_household=other_households[0],
        issue=issue,
    )
    found.accounts = {
        "county_admin": _account(session, "admin", AccountRole.COUNTY_ADMIN),
        "town_admin": _account(session, "town-qianlou", AccountRole.TOWN_ADMIN, town=town),
        "other_town_admin": _account(
            session, "town-kangmei", AccountRole.TOWN_ADMIN, town=other_town
        ),
        "village_leader": _account(session, "leader-01", AccountRole.VILLAGE_LEADER, cadre=leader),
        "inspector": inspector,
        "other_town_inspector": _account(
            session, "inspector-kangmei", AccountRole.INSPECTOR, town=other_town
        ),
        "cadre": _account(session, cadre.phone, AccountRole.CADRE, cadre=cadre),
        "department": _account(
            session, "jiaoyuju", AccountRole.DEPARTMENT, department=departments["县教育局"]
        ),
    }
    found.departments = departments
    session.flush()
    return found


def _account(
    session: Session,
    username: str,
    role: AccountRole,
    town: Town | None = None,
    cadre: Cadre | None = None,
    department: Department | None = None,
) -> Account:
    return create_account(
        session,
        SYSTEM,
        username=username,
        password=PASSWORD,
        role=role,
        town=town,
        cadre=cadre,
        department=department,
        password_hash=_HASH,
    )


def login(client: FlaskClient, account: Account) -> None:
    """Sign ``client`` in as ``account`` (the login form itself is tested in test_login)."""
    with db.factory(client.application)() as session:
        token = sessions.start(session, account, timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["token"] = token


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, f"the page {path} carries a CSRF token"
    return match.group(1)


def prepared(client: FlaskClient, factory: sessionmaker[Session], page: str, button: str) -> str:
    """Click the download ``button`` (a form posting to it) on ``page``, see the job
    being prepared, let a worker make it and see it ready; the job page's address."""
    from server.console.downloads import HANDLERS
    from server.jobs.worker import Worker

    asked = client.post(button, data={"csrf_token": csrf_token(client, page)})
    assert asked.status_code == 303, asked.get_data(as_text=True)
    job_page = asked.headers["Location"]
    waiting = client.get(job_page).get_data(as_text=True)
    assert "正在准备" in waiting and 'http-equiv="refresh"' in waiting
    # The heartbeat thread stays asleep: the worker shares the test's connection.
    assert Worker(factory, HANDLERS, heartbeat=3600).run_one()
    ready = client.get(job_page).get_data(as_text=True)
    assert "已准备好" in ready and 'http-equiv="refresh"' not in ready
    return job_page


def add_photo(
    session: Session,
    household: Household,
    kind: str,
    record_id: uuid.UUID,
    seed: int = 1,
    uploaded: bool = True,
) -> Photo:
    """A phone's photo of a household's visit, problem or follow-up, synced; with
    ``uploaded`` its bytes too, as the server keeps them once they are whole."""
    data = phone_photo(seed)
    sha256 = hashlib.sha256(data).hexdigest()
    width, height = inspect_jpeg(data)
    if uploaded:
        store_bytes(session, sha256, data)
    photo = Photo(
        id=uuid.uuid4(),
        household_id=household.id,
        record_kind=kind,
        record_id=record_id,
        sha256=sha256,
        size=len(data),
        width=width,
        height=height,
        content_type=PHOTO_CONTENT_TYPE,
    )
    session.add(photo)
    session.flush()
    return photo
