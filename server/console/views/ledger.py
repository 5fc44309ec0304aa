"""The ledger (台帐), county → town → village → grid → household, and cadres."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from server.accounts import services as account_services
from server.accounts.scope import Capability
from server.clock import utcnow
from server.console import facts
from server.console.access import (
    cadre_or_404,
    current_account,
    current_scope,
    grid_or_404,
    household_or_404,
    requires,
    town_or_404,
    village_or_404,
)
from server.console.blueprint import bp, localized
from server.console.forms import (
    CadreActiveForm,
    FactsForm,
    LeaderForm,
    LostDeviceForm,
    ReassignForm,
)
from server.console.reports import ledger
from server.db import db
from server.ledger.models import Cadre, Grid, Household, Village
from server.ledger.reassign import current_cadre_id
from server.photos.queries import photos_of
from server.rejected import Rejected
from shared.vocab import HouseholdTag, LeaderRole


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
    record: Household,
    form: ReassignForm | None = None,
    error: str | None = None,
    status: int = 200,
    facts_form: FactsForm | None = None,
    stale: list[str] | None = None,
) -> ResponseReturnValue:
    session = db.session
    found = ledger.household_record(session, record)
    choices = []
    if current_scope().can(Capability.MANAGE) and record.deleted_at is None:
        choices = ledger.cadres_of_villages(session, [found.village.id])
    if form is None:
        form = ReassignForm(seen=str(current_cadre_id(session, record) or ""))
    editable = current_scope().can(Capability.EDIT) and record.deleted_at is None
    # Opened when it comes back refused, to show what was entered.
    facts_open = facts_form is not None
    if editable and facts_form is None:
        facts_form = filled_facts_form(record)
    return render_template(
        "console/ledger/household.html",
        record=found,
        form=form,
        choices=choices,
        error=error,
        fields=ledger.FIELD_LABELS,
        actions=ledger.ACTION_LABELS,
        facts_form=facts_form if editable else None,
        facts_open=facts_open,
        stale=stale or [],
        tags=list(HouseholdTag),
        display=facts.display,
        photos=photos_of(session, "visit", [visit.id for visit, _ in found.visits]),
    ), status


def filled_facts_form(record: Household) -> FactsForm:
    """The facts form as the household stands now."""
    current = facts.current_facts(record)
    texts = {name: facts.display(name, value) for name, value in current.items() if name != "tags"}
    return FactsForm(
        formdata=None,
        **texts,
        tags=list(record.tags),
        seen=facts.seen_to_text(current),
        base_seq=str(record.seq),
    )


@bp.post("/ledger/households/<uuid:household_id>/facts")
@requires(Capability.EDIT)
def edit_household_facts(household_id: uuid.UUID) -> ResponseReturnValue:
    record = household_or_404(household_id)
    form = FactsForm()
    if not form.validate_on_submit() or not form.base_seq.data.isdigit():
        return household_page(
            record, error=localized(facts.OUT_OF_DATE), status=400, facts_form=form
        )
    try:
        entered = facts.entered_facts(request.form, form.tags.data or [])
        seen = facts.seen_from_text(form.seen.data)
        outcome = facts.edit_facts(
            db.session, current_account(), record, entered, seen, int(form.base_seq.data)
        )
    except facts.StaleFacts as stale:
        # Shown again over the household as it is now: saving again is a
        # decision made seeing the other value.
        for name, value in facts.refreshed(entered, seen, record).items():
            form[name].data = value if name == "tags" else facts.display(name, value)
        form.seen.data = facts.seen_to_text(facts.current_facts(record))
        form.base_seq.data = str(record.seq)
        return household_page(record, status=409, facts_form=form, stale=stale.fields)
    except (Rejected, facts.EnteredValueError) as refused:
        return household_page(record, error=localized(str(refused)), status=400, facts_form=form)
    except ValidationError as invalid:
        return household_page(
            record, error=localized(_field_message(invalid)), status=400, facts_form=form
        )
    if outcome is None:
        flash("没有改动 / nothing was changed")
    else:
        flash(
            "已保存，挂户干部的手机下次同步时更新 / saved: the cadre's phone updates at its next sync"
        )
    return redirect(url_for("console.household", household_id=record.id))


def _field_message(invalid: ValidationError) -> str:
    """The schema's first complaint, naming the field it is about, in both languages."""
    name = next(iter(invalid.messages), "") if isinstance(invalid.messages, dict) else ""
    zh, _, en = facts.first_message(invalid.messages).partition(" / ")
    if name not in ledger.FIELD_LABELS:
        return f"{zh} / {en or zh}"
    label_zh, label_en = ledger.FIELD_LABELS[name]
    return f"{label_zh}：{zh} / {label_en}: {en or zh}"


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
    found = ledger.search(db.session, current_scope(), text) if text else None
    return render_template("console/ledger/search.html", text=text, found=found)
