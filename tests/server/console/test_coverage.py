"""The coverage dashboard: its numbers, per place and unit, and the lists behind them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.accounts.scope import scope_for
from server.clock import utcnow
from server.console.reports import coverage
from tests.server.console.conftest import County, login


def test_the_dashboard_counts_visits_per_window_never_visited_and_unlinked(
    session: Session, county: County
) -> None:
    scope = scope_for(session, county.accounts["town_admin"])
    board = coverage.dashboard(session, scope, utcnow())
    # 前楼镇: 陈志明's five (visited 3, 10 and 45 days ago, two never), 王丽's
    # three and 林海's three (never visited).
    assert board.total.households == 11
    assert board.total.visited == {30: 2, 60: 3, 90: 3}
    assert board.total.never == 8
    assert board.total.unlinked == 0
    assert [town.name for town in board.towns] == ["前楼镇"]
    village = next(group for group in board.villages if group.name == "前楼村")
    assert (village.tally.households, village.tally.visited[30]) == (8, 2)
    assert {unit.name: unit.tally.households for unit in board.units} == {
        "县教育局": 5,
        "前楼镇人民政府": 6,
    }
    # Only 陈志明 visited lately; every load is below 20.
    assert board.idle_cadres == 2
    assert board.loads_outside == 3


def test_a_town_admin_never_counts_another_towns_households(
    session: Session, county: County
) -> None:
    other = coverage.dashboard(
        session, scope_for(session, county.accounts["other_town_admin"]), utcnow()
    )
    assert other.total.households == 3
    assert [village.name for village in other.villages] == ["康美村"]


def test_every_dashboard_number_links_to_a_list_with_that_many_rows(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    page = client.get("/coverage?days=30").get_data(as_text=True)
    assert "<svg" in page and "前楼村" in page
    for query, expected in (
        ("show=visited&days=30", 2),
        ("show=never", 8),
        ("show=unlinked", 0),
        (f"show=all&village={county.village.id}", 8),
        # A bar of the chart: the village's households to visit.
        (f"village={county.village.id}&show=stale&days=30", 6),
    ):
        assert f"/coverage/households?{query}".replace("&", "&amp;") in page, query
        listed = client.get(f"/coverage/households?{query}").get_data(as_text=True)
        assert listed.count("/ledger/households/") == expected, query
    idle = client.get("/coverage/cadres?show=idle").get_data(as_text=True)
    assert "王丽" in idle and "林海" in idle and "陈志明" not in idle


def test_cadres_outside_twenty_to_thirty_include_one_with_none_but_not_a_leader(
    session: Session, county: County
) -> None:
    scope = scope_for(session, county.accounts["county_admin"])
    listed = coverage.cadres(session, scope, utcnow(), coverage.Where(), coverage.CadreList.LOAD, 1)
    names = {row.name for row in listed.rows}
    assert {"陈志明", "王丽", "林海", "黄强"} <= names
    # The division-level leader links a village, not households; the disabled one is gone.
    assert "郑书记" not in names and "退休的" not in names
