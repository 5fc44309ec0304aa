"""Inspections: results per town and cadre, and printable random samples."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.accounts.scope import scope_for
from server.console.reports import inspections
from tests.server.console.conftest import County, login


def test_results_say_whether_households_knew_their_cadre_and_were_satisfied(
    session: Session, county: County
) -> None:
    total, towns = inspections.by_town(session, scope_for(session, county.accounts["inspector"]))
    assert (total.inspections, total.knew_cadre, total.with_problems, total.solved) == (1, 1, 1, 0)
    assert total.share(total.satisfied) == 1.0
    assert [town.name for town, _ in towns] == ["前楼镇"]
    cadres = inspections.by_cadre(session, scope_for(session, county.accounts["inspector"]), None)
    assert [row.name for row, _ in cadres] == ["陈志明"]


def test_a_sample_is_drawn_per_village_and_the_same_draw_number_gives_the_same_list(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["inspector"])
    drawn = client.get(f"/inspections/sample?town={county.town.id}&size=2")
    assert drawn.status_code == 302, "a draw number is chosen, and kept in the address"
    path = drawn.headers["Location"]
    first = client.get(path).get_data(as_text=True)
    codes = re.findall(r"<td>(H\d{6})</td>", first)
    assert len(codes) == 4, "two households from each of 前楼村 and 后林村"
    assert re.findall(r"<td>(H\d{6})</td>", client.get(path).get_data(as_text=True)) == codes
    assert "print-table" in first and "前楼村" in first and "后林村" in first


def test_an_inspector_limited_to_a_town_sees_only_its_results(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["other_town_inspector"])
    page = client.get("/inspections").get_data(as_text=True)
    assert "陈志明" not in page and "前楼镇" not in page
