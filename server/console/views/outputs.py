"""Downloads: the ledger as .xlsx (台帐), contact cards and a cadre's notebook as PDF.

Each is limited to the account's scope like the pages: a town's files only
for those who see the whole town. A county's, town's or village's file is
prepared by the job worker (views/jobs.py); a household's card and a
cadre's cards and notebook (at most a few dozen households) are made here.
"""

from __future__ import annotations

import io
import uuid

from flask import Response, abort, request, send_file
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.scope import Capability
from server.clock import utcnow
from server.console.access import (
    cadre_or_404,
    current_scope,
    household_or_404,
    requires,
)
from server.console.blueprint import bp
from server.console.downloads import PHOTOS
from server.console.reports import CHINA
from server.console.reports.outputs import cadre_town, cards, county_of, notebook
from server.console.views.jobs import job_route, start
from server.db import db
from server.ledger.models import Household
from server.ledger.queries import covered_by


def _pdf(data: bytes, name: str) -> Response:
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )


# A county's, town's or village's file is a job (views/jobs.py): asked for here.
for rule, endpoint, kind in (
    ("/ledger/ledger.xlsx", "county_xlsx", "county_ledger"),
    ("/ledger/towns/<uuid:town_id>/ledger.xlsx", "town_xlsx", "town_ledger"),
    ("/ledger/villages/<uuid:village_id>/ledger.xlsx", "village_xlsx", "village_ledger"),
    ("/ledger/towns/<uuid:town_id>/cards.pdf", "town_cards", "town_cards"),
    ("/ledger/villages/<uuid:village_id>/cards.pdf", "village_cards", "village_cards"),
):
    job_route(rule, endpoint, kind, Capability.VIEW)


@bp.post("/ledger/towns/<uuid:town_id>/notebooks.zip")
@requires(Capability.VIEW)
def town_notebooks(town_id: uuid.UUID) -> BaseResponse:
    # With the photos' thumbnails: another file, so another job.
    with_photos = request.form.get("photos") == "1"
    return start("town_notebooks", f"{town_id}{PHOTOS if with_photos else ''}")


def _cards(town_id: uuid.UUID, name: str, *where: object) -> Response:
    # Imported when first asked for: fpdf's tables add ~20 MB to a worker,
    # which every sync worker would carry without ever making a PDF.
    from server.console import pdf

    county = county_of(db.session, town_id)
    data = pdf.contact_cards(cards(db.session, *where), county.name, county.service_numbers)
    return _pdf(data, f"{name}联系服务卡.pdf")


@bp.get("/ledger/households/<uuid:household_id>/card.pdf")
@requires(Capability.VIEW)
def household_card(household_id: uuid.UUID) -> Response:
    household = household_or_404(household_id)
    return _cards(household.grid.village.town_id, household.code, Household.id == household.id)


@bp.get("/ledger/cadres/<uuid:cadre_id>/cards.pdf")
@requires(Capability.VIEW)
def cadre_cards(cadre_id: uuid.UUID) -> Response:
    cadre = cadre_or_404(cadre_id)
    scope = current_scope()
    town_id = cadre_town(db.session, scope, cadre)
    if town_id is None:
        abort(404)
    return _cards(town_id, cadre.name, Household.id.in_(covered_by(cadre.id)), scope.villages())


@bp.get("/ledger/cadres/<uuid:cadre_id>/notebook.pdf")
@requires(Capability.VIEW)
def cadre_notebook(cadre_id: uuid.UUID) -> Response:
    from server.console import pdf  # when first asked for, as in _cards

    cadre = cadre_or_404(cadre_id)
    data = pdf.notebook_pdf(
        notebook(db.session, current_scope(), cadre, photos=request.args.get("photos") == "1"),
        utcnow().astimezone(CHINA).date(),
    )
    return _pdf(data, f"民情记录本-{cadre.name}.pdf")
