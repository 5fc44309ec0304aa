"""The ledger (台帐), county → town → village → grid → household, and cadres."""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask.typing import ResponseReturnValue

from server.accounts import services as account_services
from server.accounts.scope import Capability
from server.console.access import (
    cadre_or_404,
    current_scope,
    grid_or_404,
    household_or_404,
    requires,
    town_or_404,
    village_or_404,
)
from server.console.blueprint import bp
from server.console.forms import CadreActiveForm, LeaderForm, LostDeviceForm, ReassignForm
from server.console.reassign import current_cadre_id
from server.console.reports import ledger
from server.db import db, utcnow
from server.ledger.models import Cadre, Grid, Household, Village
from shared.vocab import LeaderRole


@bp.get("/ledger")
@requires(Capability.VIEW)
def ledger_index() -> str:
    return render_template(
        "console/ledger/county.html", towns=ledger.town_summaries(db.reports, current_scope())
    )


@bp.get("/ledger/towns/<uuid:town_id>")
@requires(Capability.VIEW)
def town(town_id: uuid.UUID) -> str:
    place = town_or_404(town_id)
    villages = ledger.village_summaries(db.reports, current_scope(), Village.town_id == place.id)
    leaders = ledger.leaders(db.reports, [village.id for village in villages])
    return render_template(
        "console/ledger/town.html", town=place, villages=villages, leaders=leaders
    )


@bp.get("/ledger/villages/<uuid:village_id>")
@requires(Capability.VIEW)
def village(village_id: uuid.UUID) -> ResponseReturnValue:
    return village_page(village_or_404(village_id))


def village_page(
    place: Village, form: LeaderForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session = db.session
    can_manage = current_scope().can(Capability.MANAGE)
    return render_template(
        "console/ledger/village.html",
        village=place,
        leaders=ledger.leaders(session, [place.id])[place.id],
        grids=ledger.grid_summaries(session, place),
        cadres=ledger.households_by_cadre(session, Grid.village_id == place.id),
        candidates=ledger.leader_candidates(session, place) if can_manage else {},
        roles=list(LeaderRole),
        form=form or LeaderForm(),
        error=error,
    ), status


@bp.get("/ledger/grids/<uuid:grid_id>")
@requires(Capability.VIEW)
def grid(grid_id: uuid.UUID) -> str:
    place = grid_or_404(grid_id)
    return render_template(
        "console/ledger/grid.html",
        grid=place,
        cadres=ledger.households_by_cadre(db.session, Household.grid_id == place.id),
    )


@bp.get("/ledger/households/<uuid:household_id>")
@requires(Capability.VIEW)
def household(household_id: uuid.UUID) -> ResponseReturnValue:
    return household_page(household_or_404(household_id))


def household_page(
    record: Household, form: ReassignForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session = db.session
    found = ledger.household_record(session, record)
    choices = []
    if current_scope().can(Capability.MANAGE) and record.deleted_at is None:
        choices = ledger.cadres_of_villages(session, [found.village.id])
    if form is None:
        form = ReassignForm(seen=str(current_cadre_id(session, record) or ""))
    return render_template(
        "console/ledger/household.html",
        record=found,
        form=form,
        choices=choices,
        error=error,
        fields=ledger.FIELD_LABELS,
        actions=ledger.ACTION_LABELS,
    ), status


@bp.get("/ledger/cadres/<uuid:cadre_id>")
@requires(Capability.VIEW)
def cadre(cadre_id: uuid.UUID) -> ResponseReturnValue:
    return cadre_page(cadre_or_404(cadre_id))


def cadre_page(person: Cadre, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "console/ledger/cadre.html",
        record=ledger.cadre_record(db.session, current_scope(), person, utcnow()),
        active_form=CadreActiveForm(active="0" if person.active else "1"),
        devices=account_services.devices_of_cadre(db.session, person.id),
        lost_form=LostDeviceForm(),
        error=error,
    ), status


@bp.get("/ledger/search")
@requires(Capability.VIEW)
def search() -> str:
    text = request.args.get("q", "").strip()[:40]
    households, cadres = ledger.search(db.session, current_scope(), text) if text else ([], [])
    return render_template(
        "console/ledger/search.html", text=text, households=households, cadres=cadres
    )
