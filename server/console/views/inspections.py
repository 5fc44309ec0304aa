"""Inspections (督查): what the checks found, and random samples to print for the next."""

from __future__ import annotations

import secrets

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server.accounts.scope import Capability
from server.console.access import (
    current_scope,
    optional_uuid,
    requires,
    village_or_404,
    whole_town_or_404,
)
from server.console.blueprint import bp
from server.console.reports import inspections, ledger
from server.db import db
from server.ledger.models import Village

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
    )


@bp.get("/inspections/sample")
@requires(Capability.INSPECT)
def inspection_sample() -> ResponseReturnValue:
    """A printable list of households drawn at random, per village of a town or one village."""
    scope = current_scope()
    town_id, village_id = optional_uuid("town"), optional_uuid("village")
    size = min(
        max(request.args.get("size", type=int, default=DEFAULT_SAMPLE), 1), inspections.MAX_SAMPLE
    )
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
    if village_id is not None:
        chosen = [village_or_404(village_id)]
    elif town_id is not None:
        whole_town_or_404(town_id)
        chosen = list(
            db.session.scalars(select(Village).where(Village.town_id == town_id, scope.villages()))
        )
    else:
        chosen = list(db.session.scalars(select(Village).where(scope.villages())))
    chosen.sort(key=lambda village: (village.town.name, village.name))
    drawn = inspections.sample(db.session, [village.id for village in chosen], size, seed)
    return render_template(
        "console/inspections/sample.html",
        villages=chosen,
        drawn=drawn,
        size=size,
        seed=seed,
        leaders=ledger.leaders(db.session, [village.id for village in chosen]),
    )
