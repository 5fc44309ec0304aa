"""The console in a real browser (Debian's headless Chromium) against a real server.

One small demo county (SQLite) and one browser serve the whole module; each
test is a user's errand: sign in and read the dashboard, hand a cadre's
households over, decide a conflict, print contact cards. Screenshots of the
main pages go to test-artifacts/.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.services import register_device
from server.audit.services import Actor
from server.clock import now_ms
from server.db import make_engine
from server.demo.generator import DEMO_PASSWORD, Shape, generate
from server.ledger.models import Cadre, Grid, Household, HouseholdLink, Village
from server.migrate import upgrade
from server.photos.models import Photo
from server.sync.conflicts import Writer, edit_household, merge_household
from sync.hlc import Stamp
from tests.live import LiveServer
from tests.system import CI_INSTALLS, require

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Eight villages, 1,600 households, 80 cadres: every page has something to show.
SMALL_COUNTY = Shape(
    villages_per_town=(2, 1, 1, 1, 1, 1, 1),
    households=1_600,
    cadres=80,
    leaders=4,
    inspections=60,
)
PHONE = {"width": 390, "height": 844}

require(
    Path(CHROMIUM).exists(),
    f"Chromium is not at {CHROMIUM}",
    f"apt-get install chromium fonts-wqy-microhei ({CI_INSTALLS})",
)


@dataclass
class Demo:
    url: str
    town_id: uuid.UUID
    town_households: int
    village_id: uuid.UUID
    cadre_id: uuid.UUID
    cadre_households: int
    conflicted: str  # the code of the household whose phones conflict
    photographed: uuid.UUID  # a household of 前楼村 with a visit's photo


def _prepare(url: str) -> Demo:
    """The demo county, and one open conflict: a phone's number lost to the office's."""
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        generate(session, seed=2015, as_of=date.today(), shape=SMALL_COUNTY)
        village = session.scalars(select(Village).where(Village.name == "前楼村")).one()
        cadre_id, households = session.execute(
            select(HouseholdLink.cadre_id, func.count())
            .join(Household, Household.id == HouseholdLink.household_id)
            .join(Cadre, Cadre.id == HouseholdLink.cadre_id)
            .where(HouseholdLink.ended_at.is_(None))
            .where(Household.code.like("前楼村-%"))
            .group_by(HouseholdLink.cadre_id)
            .order_by(HouseholdLink.cadre_id)
            .limit(1)
        ).one()
        household = session.scalars(
            select(Household)
            .join(HouseholdLink, HouseholdLink.household_id == Household.id)
            .where(HouseholdLink.cadre_id == cadre_id, HouseholdLink.ended_at.is_(None))
            .order_by(Household.code)
            .limit(1)
        ).one()
        phone_owner = session.scalars(select(Account).where(Account.cadre_id == cadre_id)).one()
        admin = session.scalars(select(Account).where(Account.username == "admin")).one()
        device = register_device(session, phone_owner, "红米手机").device
        base = household.seq
        merge_household(
            session,
            Actor(account_id=phone_owner.id, device_id=device.id),
            household,
            {"phones": ["13905961111"]},
            Stamp(now_ms() - 60_000, 0, str(device.id)),
            base,
            Writer(device.id, None),
        )
        session.flush()
        edit_household(session, admin, household, {"phones": ["13905962222"]}, base)
        town_households = session.scalar(
            select(func.count())
            .select_from(Household)
            .join(Grid, Grid.id == Household.grid_id)
            .join(Village, Village.id == Grid.village_id)
            .where(Village.town_id == village.town_id, Household.deleted_at.is_(None))
        )
        photographed = session.scalars(
            select(Photo.household_id)
            .join(Household, Household.id == Photo.household_id)
            .where(Household.code.like("前楼村-%"))
            .order_by(Household.code)
            .limit(1)
        ).one()
        demo = Demo(
            "",
            village.town_id,
            town_households or 0,
            village.id,
            cadre_id,
            households,
            household.code,
            photographed,
        )
    engine.dispose()
    return demo


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """The server (started by ``demo``), for a test that also runs its job worker."""
    folder = tmp_path_factory.mktemp("browser")
    return LiveServer(f"sqlite:///{folder / 'demo.db'}", folder / "instance", workers=1)


@pytest.fixture(scope="module")
def demo(server: LiveServer) -> Iterator[Demo]:
    prepared = _prepare(server.database_url)
    server.start()
    prepared.url = server.url
    yield prepared
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, demo: Demo) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    log_in(opened, demo, "admin")
    yield opened
    context.close()


def log_in(page: Page, demo: Demo, username: str) -> None:
    page.goto(f"{demo.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("台帐总览")


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"console-{name}.png", full_page=True)


def test_an_admin_reads_the_dashboard_on_a_desktop_and_on_a_phone(
    page: Page, browser: Browser, demo: Demo
) -> None:
    # The stylesheet is there (no CDN, no web font: all from the server).
    # (A retrying check: on a busy machine the sheet may still be on its way.)
    expect(page.locator("header.top")).to_have_css("background-color", "rgb(179, 38, 30)")
    shoot(page, "overview")
    page.click("nav.main >> text=走访覆盖")
    expect(page.locator("h1")).to_have_text("走访覆盖")
    expect(page.locator("figure.chart.wide svg").first).to_be_visible()
    expect(page.locator("figure.chart.phone").first).to_be_hidden()
    # 1,600 households, every one with a cadre.
    expect(page.locator(".counts")).to_contain_text("1,600")
    shoot(page, "coverage")
    # A bar of the chart opens the households it stands for.
    page.locator("figure.chart a").first.click()
    expect(page.locator("h1")).to_contain_text("近期未走访的农户")
    page.goto(f"{demo.url}/ledger/villages/{demo.village_id}")
    expect(page.locator("h1")).to_contain_text("前楼村")
    shoot(page, "village")
    page.goto(f"{demo.url}/problems")
    shoot(page, "problems")
    page.goto(f"{demo.url}/coverage?lang=en")
    expect(page.locator("h1")).to_have_text("Visit coverage")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    small = phone.new_page()
    log_in(small, demo, "town-qianlou")
    small.goto(f"{demo.url}/coverage")
    # The phone's own layout of the charts, its text as large as the page's small print.
    expect(small.locator("figure.chart.phone svg").first).to_be_visible()
    expect(small.locator("figure.chart.wide").first).to_be_hidden()
    label = small.locator("figure.chart.phone text.bar-label").first.bounding_box()
    assert label is not None and label["height"] >= 10
    expect(small.locator(".legend")).to_contain_text("走访比例低于 50%")
    # Nothing wider than the phone's screen but the tables' own scrolling.
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    shoot(small, "coverage-phone")
    phone.close()


def test_a_cadres_households_are_handed_over_to_two_others_in_one_go(
    page: Page, demo: Demo
) -> None:
    page.goto(f"{demo.url}/ledger/cadres/{demo.cadre_id}")
    page.click("text=移交农户")
    expect(page.locator("input[name=households]:checked")).to_have_count(demo.cadre_households)
    targets = page.locator("input[name=targets]")
    targets.nth(0).check()
    targets.nth(1).check()
    shoot(page, "transfer")
    page.click("button:has-text('移交')")
    expect(page.locator(".notice")).to_contain_text(f"已移交 {demo.cadre_households} 户")
    expect(page.locator(".counts div").nth(1)).to_contain_text("0")  # none left


def test_an_admin_takes_the_value_a_phone_lost_in_a_conflict(page: Page, demo: Demo) -> None:
    page.click("nav.main >> text=数据冲突")
    conflict = page.locator("section.conflict", has_text=demo.conflicted)
    expect(conflict).to_contain_text("红米手机")
    shoot(page, "conflicts")
    conflict.locator("input[value=overturn]").check()
    conflict.locator("button[type=submit]").click()
    expect(page.locator(".notice")).to_contain_text("已处理该冲突")
    page.fill("nav.main input[name=q]", demo.conflicted)
    page.press("nav.main input[name=q]", "Enter")
    page.get_by_role("link", name=demo.conflicted).click()
    expect(page.locator(".facts")).to_contain_text("13905961111")
    shoot(page, "household")


def test_a_towns_contact_cards_are_prepared_in_the_background_then_downloaded(
    page: Page, demo: Demo, server: LiveServer
) -> None:
    # The worker starting while the admin clicks: the page first says the cards
    # are being prepared (a town's take seconds), then offers them.
    with server.worker():
        page.goto(f"{demo.url}/ledger/towns/{demo.town_id}")
        page.get_by_role("button", name="打印本镇联系服务卡 (PDF)").click()
        expect(page.get_by_role("status")).to_contain_text("正在准备…")
        expect(page.locator("progress")).to_be_visible()
        download_link = page.get_by_role("link", name="下载 前楼镇联系服务卡.pdf")
        expect(download_link).to_be_visible(timeout=30_000)
        with page.expect_download() as download:
            download_link.click()
    assert download.value.suggested_filename == "前楼镇联系服务卡.pdf"
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF") and b"DroidSansFallback" in data
    # Eight cards a page: every household of the town has one.
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == -(-demo.town_households // 8)


def test_a_visits_photo_opens_at_full_size_over_the_household_page_and_esc_closes_it(
    page: Page, demo: Demo
) -> None:
    page.goto(f"{demo.url}/ledger/households/{demo.photographed}")
    thumbnail = page.locator("ul.photos a.photo img").first
    expect(thumbnail).to_have_attribute("loading", "lazy")
    expect(thumbnail).to_have_attribute("alt", re.compile(r"^走访照片 \d{4}-\d{2}-\d{2}$"))
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    small = thumbnail.evaluate("img => img.naturalWidth")
    thumbnail.click()
    lightbox = page.locator(".lightbox")
    expect(lightbox).to_be_visible()
    full = lightbox.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    assert full.evaluate("img => img.naturalWidth") > small
    expect(lightbox.locator(".caption")).to_contain_text("走访照片")
    shoot(page, "photo-lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    # Without the lightbox (a new tab, or no script), the link is the image itself.
    href = page.locator("ul.photos a.photo").first.get_attribute("href")
    answer = page.request.get(demo.url + str(href))
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"


def test_no_console_page_breaks_its_content_security_policy(browser: Browser, demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    # The print button's window.print, counted instead of opening a dialog.
    context.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, demo, "admin")
    for path in (
        "/ledger",
        f"/ledger/villages/{demo.village_id}",
        f"/ledger/cadres/{demo.cadre_id}",
        f"/ledger/search?q={demo.conflicted}",
        "/coverage",
        "/coverage/households",
        "/problems",
        "/problems/list",
        "/conflicts",
        "/inspections",
        "/settings",
        "/no-such-page",
        f"/ledger/households/{demo.photographed}",
        f"/inspections/sample?village={demo.village_id}",
    ):
        page.goto(demo.url + path)
    assert refused == []
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.printed") == 1

    # The policy holds, and is heard: a script slipped into a page does not run.
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        ran = page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.head.append(script);
                return window.injected === true;
            }"""
        )
    assert not ran
    context.close()


@pytest.fixture
def other_site(demo: Demo) -> Iterator[str]:
    """Another site (another port of this machine) whose page frames the console's login."""
    page = f'<iframe src="{demo.url}/login"></iframe>'.encode()

    class Framing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Framing) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()
        thread.join()


def test_another_site_cannot_frame_the_console(browser: Browser, other_site: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    with page.expect_event(
        "framenavigated", lambda frame: frame.parent_frame is not None
    ) as framed:
        page.goto(other_site, wait_until="commit")
    # Refused: Chromium shows its own error page in the frame, not the login form.
    assert framed.value.url == "chrome-error://chromewebdata/"
    assert page.frame_locator("iframe").locator("input[name=username]").count() == 0
    context.close()
