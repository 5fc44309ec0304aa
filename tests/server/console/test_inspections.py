"""Inspections: results per town and cadre, printable random samples, and samples
assigned to inspectors' phones."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse as Response

from server.accounts.models import Account
from server.accounts.scope import scope_for
from server.audit.services import Actor
from server.console.reports import inspections
from server.inspections import services
from server.inspections.models import InspectionAssignment
from server.ledger.models import Household
from tests.server.console.conftest import County, login


def test_results_say_whether_households_knew_their_cadre_and_were_satisfied(
    session: Session, county: County
) -> None:
    total, towns = inspections.by_town(session, scope_for(session, county.accounts["inspector"]))
    assert (total.inspections, total.knew_cadre, total.with_issues, total.solved) == (1, 1, 1, 0)
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


def _assign(client: FlaskClient, sample: str, inspector: Account) -> Response:
    """Open the sample page at ``sample`` and assign its households with its form."""
    page = client.get(sample).get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]* name="(\w+)"[^>]* value="([^"]*)"', page))
    return client.post(
        "/inspections/assign",
        data={
            **{name: fields[name] for name in ("csrf_token", "town", "village", "size", "seed")},
            "inspector": str(inspector.id),
        },
    )


def _open_assignments(session: Session) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Inspector -> households assigned and not yet checked."""
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for assignment in session.scalars(
        select(InspectionAssignment).where(
            InspectionAssignment.checked_at.is_(None), InspectionAssignment.withdrawn_at.is_(None)
        )
    ):
        found.setdefault(assignment.inspector_id, set()).add(assignment.household_id)
    return found


def test_a_town_admin_assigns_the_drawn_sample_to_an_inspectors_phone(
    client: FlaskClient, session: Session, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    inspector = county.accounts["inspector"]
    sample = f"/inspections/sample?town={county.town.id}&size=2&seed=2015"
    response = _assign(client, sample, inspector)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("已向inspector的手机分派 4 户") == 1, "the message is shown once"
    drawn = set(re.findall(r"<td>(H\d{6})</td>", page))
    assigned = _open_assignments(session)[inspector.id]
    codes = {session.get(Household, household_id).code for household_id in assigned}
    assert codes == drawn and len(codes) == 4
    # Assigning the same sample again adds nothing; the results page counts them.
    again = _assign(client, sample, inspector)
    assert "已向inspector的手机分派 0 户" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    assert _open_assignments(session)[inspector.id] == assigned
    results = client.get("/inspections").get_data(as_text=True)
    assert re.search(r"<td>inspector</td><td class=\"num\">4</td>", results)


def test_a_sample_is_not_assigned_to_an_inspector_of_another_town(
    client: FlaskClient, session: Session, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    response = _assign(
        client,
        f"/inspections/sample?village={county.village.id}&size=2&seed=1",
        county.accounts["other_town_inspector"],
    )
    assert response.status_code == 400
    assert "只督查本镇农户" in response.get_data(as_text=True)
    assert _open_assignments(session) == {}


def test_an_admin_of_another_town_cannot_assign_this_towns_households(
    app: Flask, client: FlaskClient, session: Session, county: County
) -> None:
    login(client, county.accounts["other_town_admin"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        "/inspections/assign",
        data={
            "village": str(county.village.id),
            "size": "2",
            "seed": "7",
            "inspector": str(county.accounts["inspector"].id),
        },
    )
    assert response.status_code == 404
    assert _open_assignments(session) == {}


def test_assigning_without_the_forms_csrf_token_changes_nothing(
    client: FlaskClient, session: Session, county: County
) -> None:
    login(client, county.accounts["county_admin"])
    response = client.post(
        "/inspections/assign",
        data={
            "village": str(county.village.id),
            "size": "2",
            "seed": "7",
            "inspector": str(county.accounts["inspector"].id),
        },
    )
    assert response.status_code == 400
    assert "表单已过期或不是从本站提交" in response.get_data(as_text=True)
    assert _open_assignments(session) == {}


def test_withdrawing_takes_back_what_the_inspector_has_not_checked_in_the_admins_area(
    client: FlaskClient, session: Session, county: County
) -> None:
    inspector = county.accounts["inspector"]
    admin = county.accounts["county_admin"]
    services.assign(
        session,
        Actor(account_id=admin.id),
        inspector,
        [county.households[0].id, county.other_household.id],
        draw=1,
    )
    login(client, county.accounts["town_admin"])
    page = client.get("/inspections").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/inspections/withdraw", data={"csrf_token": token.group(1), "inspector": str(inspector.id)}
    )
    assert response.status_code == 302
    assert client.get("/inspections").get_data(as_text=True).count("已撤回inspector的 1 户") == 1
    # 康美镇's household is not 前楼镇's admin's to withdraw.
    assert _open_assignments(session) == {inspector.id: {county.other_household.id}}


def test_an_inspector_can_neither_withdraw_nor_fill_another_inspectors_sample(
    client: FlaskClient, session: Session, county: County
) -> None:
    inspector = county.accounts["inspector"]
    other = county.accounts["other_town_inspector"]
    services.assign(
        session, Actor(account_id=county.accounts["county_admin"].id), inspector,
        [county.other_household.id], draw=1,
    )  # fmt: skip
    login(client, other)
    page = client.get("/inspections").get_data(as_text=True)
    assert "<td>inspector</td>" not in page, "another inspector's sample is not listed"
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token is not None
    withdrawn = client.post(
        "/inspections/withdraw", data={"csrf_token": token.group(1), "inspector": str(inspector.id)}
    )
    assert withdrawn.status_code == 404
    sample = client.get(f"/inspections/sample?town={county.other_household.grid.village.town_id}")
    offered = client.get(sample.headers["Location"]).get_data(as_text=True)
    assert str(inspector.id) not in offered, "only themselves to choose"
    assigned = _assign(client, sample.headers["Location"], inspector)
    assert assigned.status_code == 404
    assert _open_assignments(session) == {inspector.id: {county.other_household.id}}
    # Their own sample is theirs to manage.
    assert _assign(client, sample.headers["Location"], other).status_code == 302
    assert other.id in _open_assignments(session)
