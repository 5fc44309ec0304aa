"""Inspections (督查): what the checks found, random samples to print for the next,
and samples assigned to an inspector's phone."""

from __future__ import annotations

import secrets
import uuid

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.models import Account
from server.accounts.scope import Capability
from server.audit.services import Actor
from server.console.access import (
    current_account,
    current_scope,
    inspector_or_404,
    optional_uuid,
    requires,
    uuid_or_404,
    village_or_404,
    whole_town_or_404,
)
from server.console.blueprint import bp, localized
from server.console.forms import CHOOSE, AssignForm, WithdrawForm
from server.console.reports import inspections, ledger
from server.console.views.jobs import job_route, start
from server.db import db
from server.inspections import services
from server.ledger.models import Village
from server.photos.queries import photos_of_households

DEFAULT_SAMPLE = 10


@bp.get("/inspections")
@requires(Capability.INSPECT)
def inspection_results() -> str:
    scope = current_scope()
    town_id = optional_uuid("town")
    if town_id is not None:
        whole_town_or_404(town_id)
    total, towns = inspections.by_town(db.session, scope)
    return render_template(
        "console/inspections/results.html",
        total=total,
        towns=towns,
        town_id=town_id,
        cadres=inspections.by_cadre(db.session, scope, town_id),
        villages=ledger.villages(db.session, scope),
        default_size=DEFAULT_SAMPLE,
        assigned=services.open_by_inspector(db.session, current_account(), scope),
        withdraw_form=WithdrawForm(),
    )


def _sample_villages(town_id: uuid.UUID | None, village_id: uuid.UUID | None) -> list[Village]:
    """The villages a sample is drawn from: one, a town's, or all in the account's scope."""
    if village_id is not None:
        return [village_or_404(village_id)]
    if town_id is not None:
        whole_town_or_404(town_id)
    return inspections.villages(db.session, current_scope(), town_id)


def _size(value: int | None) -> int:
    return min(max(value or DEFAULT_SAMPLE, 1), inspections.MAX_SAMPLE)


@bp.get("/inspections/sample")
@requires(Capability.INSPECT)
def inspection_sample() -> ResponseReturnValue:
    """A printable list of households drawn at random, per village of a town or one village."""
    town_id, village_id = optional_uuid("town"), optional_uuid("village")
    size = _size(request.args.get("size", type=int, default=DEFAULT_SAMPLE))
    seed = request.args.get("seed", type=int)
    if seed is None:
        # Drawn once, then kept in the address: the printed list can be drawn again.
        return redirect(
            url_for(
                "console.inspection_sample",
                **{key: value for key, value in request.args.items() if key != "seed"},
                seed=secrets.randbelow(10**6),
            )
        )
    chosen = _sample_villages(town_id, village_id)
    drawn = inspections.sample(db.session, [village.id for village in chosen], size, seed)
    form = AssignForm(town=str(town_id or ""), village=str(village_id or ""), size=size, seed=seed)
    inspectors = services.inspectors_for(
        db.session, current_account(), {village.town_id for village in chosen}
    )
    form.inspector.choices = [
        (str(inspector.id), inspector.display_name or inspector.username)
        for inspector in inspectors
    ]
    return render_template(
        "console/inspections/sample.html",
        villages=chosen,
        drawn=drawn,
        size=size,
        seed=seed,
        leaders=ledger.leaders(db.session, [village.id for village in chosen]),
        form=form,
        photos=photos_of_households(
            db.session, [row.id for rows in drawn.values() for row in rows]
        ),
    )


def _inspector(value: str) -> Account:
    """An inspector's account named in a form, if this account manages their
    samples; anything else is not found."""
    return inspector_or_404(uuid_or_404(value))


def _refused(message: str) -> ResponseReturnValue:
    """A form that cannot be carried out: why, on a page of its own."""
    return render_template(
        "console/error.html",
        code=400,
        title=localized("未能完成 / not done"),
        messages=(localized(message), ""),
    ), 400


def _form_uuid(value: str | None) -> uuid.UUID | None:
    return uuid_or_404(value) if value else None


@bp.post("/inspections/assign")
@requires(Capability.INSPECT)
def assign_sample() -> ResponseReturnValue:
    """Send a drawn sample to an inspector's phone: drawn again from its draw number,
    so exactly the households the admin saw are assigned."""
    form = AssignForm()
    if not form.validate_on_submit():
        return _refused(CHOOSE)
    town_id, village_id = _form_uuid(form.town.data), _form_uuid(form.village.data)
    chosen = _sample_villages(town_id, village_id)
    size, seed = _size(form.size.data), form.seed.data
    drawn = inspections.sample(db.session, [village.id for village in chosen], size, seed)
    inspector = _inspector(form.inspector.data)
    again = url_for(
        "console.inspection_sample", town=town_id, village=village_id, size=size, seed=seed
    )
    try:
        count = services.assign(
            db.session,
            Actor(account_id=current_account().id),
            inspector,
            [row.id for rows in drawn.values() for row in rows],
            seed,
        )
    except services.AssignError as refused:
        return _refused(str(refused))
    name = inspector.display_name or inspector.username
    flash(
        f"已向{name}的手机分派 {count} 户，同步后即可督查"
        f" / {count} households sent to {name}'s phone: they can check them after a sync"
    )
    return redirect(again)


# The printed inspection sheets (督查表) are jobs (views/jobs.py), asked for here.
job_route(
    "/inspections/towns/<uuid:town_id>/sheet.pdf",
    "town_inspection_sheet",
    "town_inspection_sheet",
    Capability.INSPECT,
)


@bp.post("/inspections/inspectors/<uuid:inspector_id>/sheet.pdf")
@requires(Capability.INSPECT)
def inspector_sheet(inspector_id: uuid.UUID) -> BaseResponse:
    # The list as it stands in the target: a sheet asked for again after a
    # sample was assigned (or checked, or withdrawn) is made afresh.
    changed = services.assignments_changed_at(db.session, inspector_id)
    return start(
        "inspector_sheet",
        f"{inspector_id}/{changed:%Y%m%d%H%M%S%f}" if changed else str(inspector_id),
    )


@bp.post("/inspections/withdraw")
@requires(Capability.INSPECT)
def withdraw_assignments() -> ResponseReturnValue:
    """Take back what an inspector has not checked yet, in the admin's area."""
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _refused(CHOOSE)
    inspector = _inspector(form.inspector.data)
    count = services.withdraw(
        db.session, Actor(account_id=current_account().id), inspector, current_scope()
    )
    name = inspector.display_name or inspector.username
    flash(f"已撤回{name}的 {count} 户 / {count} households withdrawn from {name}")
    return redirect(url_for("console.inspection_results"))
