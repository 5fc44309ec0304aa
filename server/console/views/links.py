"""Changing links: a household's cadre, a cadre's households handed over in bulk,
a village's link leaders, and disabling a cadre who has left."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from server.accounts.scope import Capability
from server.audit.services import Actor
from server.console.access import (
    cadre_or_404,
    current_account,
    current_scope,
    household_or_404,
    requires,
    village_or_404,
)
from server.console.blueprint import bp, localized
from server.console.forms import CHOOSE, CadreActiveForm, LeaderForm, ReassignForm, TransferForm
from server.console.reports import ledger
from server.console.views.ledger import cadre_page, household_page, village_page
from server.db import db
from server.ledger.models import Cadre
from server.ledger.reassign import reassign, set_cadre_active, transfer
from server.ledger.services import LinkError, set_village_leader
from shared.vocab import LeaderRole


def _actor() -> Actor:
    return Actor(account_id=current_account().id)


def _parse(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise LinkError(CHOOSE) from None


def _cadre_in_scope(cadre_id: str) -> Cadre:
    return cadre_or_404(_parse(cadre_id))


@bp.post("/ledger/households/<uuid:household_id>/cadre")
@requires(Capability.MANAGE)
def reassign_household(household_id: uuid.UUID) -> ResponseReturnValue:
    household = household_or_404(household_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        return household_page(household, form, localized(CHOOSE), 400)
    try:
        seen = _parse(form.seen.data) if form.seen.data else None
        changed = reassign(db.session, _actor(), household, _cadre_in_scope(form.cadre.data), seen)
    except LinkError as refused:
        return household_page(household, form, localized(str(refused)), 400)
    if changed:
        flash("已更换挂户干部 / the household's cadre has been changed")
    else:
        flash(
            "该户已由这位干部挂钩，没有改动 / this cadre already has the household: nothing changed"
        )
    return redirect(url_for("console.household", household_id=household.id))


@bp.route("/ledger/cadres/<uuid:cadre_id>/transfer", methods=["GET", "POST"])
@requires(Capability.MANAGE)
def transfer_households(cadre_id: uuid.UUID) -> ResponseReturnValue:
    """Hand a cadre's households to other cadres of the same villages."""
    source = cadre_or_404(cadre_id)
    households = ledger.own_households(db.session, current_scope(), source)
    villages = sorted({household.grid.village_id for household in households})
    targets = [
        choice
        for choice in ledger.cadres_of_villages(db.session, villages)
        if choice.id != source.id
    ]
    form = TransferForm()
    error = None
    if form.validate_on_submit():
        try:
            taken = transfer(
                db.session,
                _actor(),
                source,
                [household_or_404(_parse(chosen)) for chosen in form.households.data or []],
                [_cadre_in_scope(target) for target in form.targets.data or []],
            )
        except LinkError as refused:
            error = localized(str(refused))
        else:
            flash(f"已移交 {sum(taken.values())} 户 / {sum(taken.values())} households handed over")
            return redirect(url_for("console.cadre", cadre_id=source.id))
    elif not form.is_submitted():
        form.households.data = [str(household.id) for household in households]
    return render_template(
        "console/ledger/transfer.html",
        source=source,
        households=households,
        targets=targets,
        form=form,
        error=error,
    ), 400 if error else 200


@bp.post("/ledger/villages/<uuid:village_id>/leaders")
@requires(Capability.MANAGE)
def set_leader(village_id: uuid.UUID) -> ResponseReturnValue:
    village = village_or_404(village_id)
    form = LeaderForm()
    role = LeaderRole(form.role.data) if form.role.data in LeaderRole.codes() else None
    if not form.validate_on_submit() or role is None:
        return village_page(village, form, localized(CHOOSE), 400)
    try:
        cadre = _cadre_in_scope(form.cadre.data)
        allowed = {choice.id for choice in ledger.leader_candidates(db.session, village)[role]}
        # A disabled cadre is refused by set_village_leader, with its own message.
        if cadre.active and cadre.id not in allowed:
            raise LinkError(
                f"{cadre.name}不能担任本村的{role.zh} / {cadre.name} cannot be this village's {role.en}"
            )
        set_village_leader(db.session, _actor(), village, role, cadre)
    except LinkError as refused:
        return village_page(village, form, localized(str(refused)), 400)
    flash(f"已设置{role.zh} / the {role.en} has been set")
    return redirect(url_for("console.village", village_id=village.id))


@bp.post("/ledger/cadres/<uuid:cadre_id>/active")
@requires(Capability.MANAGE)
def cadre_active(cadre_id: uuid.UUID) -> ResponseReturnValue:
    cadre = cadre_or_404(cadre_id)
    form = CadreActiveForm()
    if not form.validate_on_submit() or form.active.data not in ("0", "1"):
        return cadre_page(cadre, localized(CHOOSE), 400)
    try:
        set_cadre_active(db.session, _actor(), cadre, form.active.data == "1")
    except LinkError as refused:
        return cadre_page(cadre, localized(str(refused)), 400)
    flash(
        "已启用该干部 / the cadre has been enabled"
        if cadre.active
        else "已停用该干部 / the cadre has been disabled"
    )
    return redirect(url_for("console.cadre", cadre_id=cadre.id))
