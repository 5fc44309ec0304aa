"""A county set up the way a county office sets one up: ``minqing db init``, then its
workbook imported with ``minqing import``, accounts made with ``minqing accounts``,
and the console served by gunicorn. Every page about an imported household, its
grid, village, town and cadre opens for the county, town and village admins."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from server.cli import main
from server.db import make_engine
from server.ledger.layouts import CADRES, HOUSEHOLDS, LEADERS, VILLAGES
from server.ledger.models import Cadre, Grid, Household, Town, Village
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.server.console.test_access import ACCESS, ROLES, address

PASSWORD = "minqing-demo"
CHEN, WANG, ZHENG, HUANG = "13905960001", "13905960002", "13905960003", "13905960004"

# The county office's workbook: its sheets named and headed as ``minqing export``
# writes them, phones typed as numbers (as Excel keeps them).
SHEETS = {
    VILLAGES: [
        ("前楼镇", "前楼村", "第1网格"),
        ("前楼镇", "前楼村", "第2网格"),
        ("前楼镇", "后林村", "第1网格"),
        ("康美镇", "康美村", "第1网格"),
    ],
    CADRES: [
        ("陈志明", "县教育局", "县直单位", "", "县直干部", int(CHEN), "在岗"),
        ("王丽", "前楼镇人民政府", "镇机关", "前楼镇", "镇干部", int(WANG), "在岗"),
        ("郑书记", "县委办", "县直单位", "", "处级干部", int(ZHENG), ""),
        ("黄强", "康美镇人民政府", "镇机关", "康美镇", "镇干部", int(HUANG), ""),
    ],
    HOUSEHOLDS: [
        (
            "QL-0001",
            "前楼镇",
            "前楼村",
            "第1网格",
            "林春武",
            4,
            "前楼村12号",
            "13912345678、0596-5881234",
            "贫困户、独居老人",
            "两个孩子上大学",
            "陈志明",
            "县教育局",
            int(CHEN),
        ),
        (
            "QL-0002",
            "前楼镇",
            "前楼村",
            "第2网格",
            "林光荣",
            2,
            "",
            "",
            "",
            "",
            "王丽",
            "前楼镇人民政府",
            int(WANG),
        ),
        # Not yet linked: the import records no cadre for it.
        ("QL-0003", "前楼镇", "前楼村", "第2网格", "林秀英", 1, "", "", "残疾人", "", "", "", ""),
        (
            "KM-0001",
            "康美镇",
            "康美村",
            "第1网格",
            "黄大海",
            3,
            "",
            "",
            "",
            "",
            "黄强",
            "康美镇人民政府",
            int(HUANG),
        ),
    ],  # fmt: skip
    LEADERS: [
        (
            "前楼镇",
            "前楼村",
            "郑书记",
            "县委办",
            int(ZHENG),
            "王丽",
            "前楼镇人民政府",
            int(WANG),
            "陈志明",
            "县教育局",
            int(CHEN),
        ),
    ],  # fmt: skip
}
ACCOUNTS = {
    "county_admin": ("admin", "--role", "county_admin"),
    "town_admin": ("town-qianlou", "--role", "town_admin", "--town", "前楼镇"),
    "village_leader": ("leader-01", "--role", "village_leader", "--cadre-phone", ZHENG),
}
# Pages about the household, and what of it each must show.
SHOWN = {
    "/ledger/households/<uuid:household_id>": (
        "林春武", "QL-0001", "前楼村12号", "13912345678", "0596-5881234", "贫困户", "独居老人",
        "两个孩子上大学", "陈志明",
    ),
    "/ledger/grids/<uuid:grid_id>": ("林春武", "QL-0001", "陈志明"),
    "/ledger/villages/<uuid:village_id>": ("林春武", "QL-0001", "陈志明", "郑书记"),
    "/ledger/cadres/<uuid:cadre_id>": ("陈志明", "林春武", "QL-0001"),
    "/coverage/households": ("林春武", "QL-0001"),
}  # fmt: skip
# The ids an address can need that an import does not make (issues,
# conflicts and photos come from phones, jobs from a download asked for).
NOT_FROM_IMPORTS = (
    "<uuid:issue_id>",
    "<uuid:conflict_id>",
    "<uuid:job_id>",
    "<uuid:job_id>/file",
    "<uuid:photo_id>/thumbnail.jpg",
    "<uuid:photo_id>/photo.jpg",
)
FILES = {".pdf": "application/pdf", ".xlsx": "application/vnd.openxmlformats"}


def write_county_workbook(path: Path) -> Path:
    workbook = Workbook()
    for layout, rows in SHEETS.items():
        sheet = workbook.create_sheet(layout.sheet)
        sheet.append([column.header for column in layout.columns])
        for values in rows:
            sheet.append(list(values))
    del workbook["Sheet"]
    workbook.save(path)
    return path


@dataclass
class Imported:
    server: LiveServer
    ids: dict[str, uuid.UUID]


@pytest.fixture(scope="module")
def imported(
    backend: str, live_servers: LiveServers, tmp_path_factory: pytest.TempPathFactory
) -> Imported:
    """The county imported once per backend; the tests only read it."""
    tmp_path = tmp_path_factory.mktemp("imported")
    # The module's tests share the county; no other test runs on the server meanwhile.
    server, _ = live_servers.ready(backend)
    workbook = write_county_workbook(tmp_path / "东山县台帐.xlsx")
    commands = [("db", "init")]
    commands += [("import", kind, str(workbook)) for kind in ("villages", "cadres", "households", "leaders")]  # fmt: skip
    commands += [("accounts", "create", *account, "--password", PASSWORD) for account in ACCOUNTS.values()]  # fmt: skip
    env = {"DATABASE_URL": server.database_url, "MINQING_INSTANCE_PATH": str(server.instance_path)}
    for command in commands:
        # In this process, each a second sooner than as a program of its own
        # (which tests/server/ledger/test_import_cli.py runs them as).
        done = CliRunner().invoke(main, list(command), env=env)
        assert done.exit_code == 0, (command, done.output, done.exception)
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as connection:
            household_id, grid_id, village_id, town_id = connection.execute(
                select(Household.id, Grid.id, Village.id, Town.id)
                .join(Grid, Grid.id == Household.grid_id)
                .join(Village, Village.id == Grid.village_id)
                .join(Town, Town.id == Village.town_id)
                .where(Household.code == "QL-0001")
            ).one()
            cadre_id = connection.scalar(select(Cadre.id).where(Cadre.phone == CHEN))
    finally:
        engine.dispose()
    assert cadre_id is not None
    return Imported(
        server,
        {
            "household_id": household_id,
            "grid_id": grid_id,
            "village_id": village_id,
            "town_id": town_id,
            "cadre_id": cadre_id,
        },
    )


class Browser:
    """A console user over HTTP: cookies kept, the login form filled in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers["Content-Type"], error.read()

    def login(self, username: str) -> None:
        _, _, page = self.get("/login")
        token = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert token is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1).decode()}
        with self.opener.open(
            self.base + "/login", urllib.parse.urlencode(form).encode(), timeout=60
        ) as response:
            assert "/login" not in response.url, "signed in"


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_console_page_of_an_imported_household_opens_for_each_admin(
    imported: Imported, role: str
) -> None:
    browser = Browser(imported.server.url)
    browser.login(ACCOUNTS[role][0])
    column = ROLES.index(role)
    pages = [
        rule
        for (method, rule), allowed in sorted(ACCESS.items())
        if method == "GET" and allowed[column] == "A" and not rule.endswith(NOT_FROM_IMPORTS)
    ]
    assert len(pages) >= 15
    failed = []
    for rule in [*pages, "/ledger/search?q=林春武"]:
        path = urllib.parse.quote(address(rule, imported.ids), safe="/?=&")
        status, kind, body = browser.get(path)
        if status != 200:
            failed.append(f"{rule}: {status}")
            continue
        suffix = Path(rule).suffix
        if suffix in FILES:
            assert kind.startswith(FILES[suffix]), rule
            continue
        text = body.decode()
        missing = [shown for shown in SHOWN.get(rule, ()) if shown not in text]
        if missing:
            failed.append(f"{rule}: does not show {missing}")
    assert failed == []


def test_an_imported_household_s_history_shows_its_creation_and_its_cadre_by_name(
    imported: Imported,
) -> None:
    browser = Browser(imported.server.url)
    browser.login("admin")
    status, _, body = browser.get(f"/ledger/households/{imported.ids['household_id']}")
    assert status == 200
    history = body.decode().split("变更记录", 1)[1]
    # The phones as two phones, not as an old and a new value.
    assert "13912345678、0596-5881234" in history
    assert "13912345678 → 0596-5881234" not in history
    assert re.search(r"挂钩.*挂户干部: 陈志明", history, re.S)
    assert "(import)" in history
