"""Downloads: the ledger as .xlsx (台帐), contact cards and a cadre's notebook as PDF.

Each is limited to the account's scope like the pages: a town's files only
for those who see the whole town.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

from flask import Response, abort, send_file
from sqlalchemy import select

from server.accounts.scope import Capability
from server.console.access import (
    cadre_or_404,
    current_scope,
    household_or_404,
    requires,
    village_or_404,
    whole_town_or_404,
)
from server.console.blueprint import bp
from server.console.reports import CHINA
from server.console.reports.outputs import cards, county_of, notebook
from server.db import db, utcnow
from server.ledger.exporting import WHOLE, Part, export_ledger
from server.ledger.models import County, Grid, Household, HouseholdLink, Village

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(name: str, part: Part = WHOLE) -> Response:
    with tempfile.TemporaryDirectory(prefix="minqing-export-") as folder:
        path = Path(folder) / "ledger.xlsx"
        export_ledger(db.session, path, part)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


def _pdf(data: bytes, name: str) -> Response:
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.get("/ledger/ledger.xlsx")
@requires(Capability.VIEW)
def county_xlsx() -> Response:
    if not current_scope().whole_county:
        abort(403)
    county = db.session.scalar(select(County.name).order_by(County.name).limit(1)) or ""
    return _xlsx(f"{county}包村包户台帐.xlsx")


@bp.get("/ledger/towns/<uuid:town_id>/ledger.xlsx")
@requires(Capability.VIEW)
def town_xlsx(town_id: uuid.UUID) -> Response:
    town = whole_town_or_404(town_id)
    return _xlsx(f"{town.name}包村包户台帐.xlsx", Part(town_id=town.id))


@bp.get("/ledger/villages/<uuid:village_id>/ledger.xlsx")
@requires(Capability.VIEW)
def village_xlsx(village_id: uuid.UUID) -> Response:
    village = village_or_404(village_id)
    return _xlsx(f"{village.town.name}{village.name}包村包户台帐.xlsx", Part(village_id=village.id))


def _cards(town_id: uuid.UUID, name: str, *where: object) -> Response:
    # Imported when first asked for: fpdf's tables add ~20 MB to a worker,
    # which every sync worker would carry without ever making a PDF.
    from server.console import pdf

    county = county_of(db.session, town_id)
    data = pdf.contact_cards(cards(db.session, *where), county.name, county.service_numbers)
    return _pdf(data, f"{name}联系服务卡.pdf")


@bp.get("/ledger/towns/<uuid:town_id>/cards.pdf")
@requires(Capability.VIEW)
def town_cards(town_id: uuid.UUID) -> Response:
    town = whole_town_or_404(town_id)
    return _cards(town.id, town.name, Village.town_id == town.id)


@bp.get("/ledger/villages/<uuid:village_id>/cards.pdf")
@requires(Capability.VIEW)
def village_cards(village_id: uuid.UUID) -> Response:
    village = village_or_404(village_id)
    return _cards(village.town_id, f"{village.town.name}{village.name}", Village.id == village.id)


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
    covered = select(HouseholdLink.household_id).where(
        HouseholdLink.cadre_id == cadre.id, HouseholdLink.ended_at.is_(None)
    )
    # A cadre covers households in one county; its service numbers go on the cards.
    town_id = db.session.scalar(
        select(Village.town_id)
        .join(Grid, Grid.village_id == Village.id)
        .join(Household, Household.grid_id == Grid.id)
        .where(Household.id.in_(covered), scope.villages())
        .limit(1)
    )
    if town_id is None:
        abort(404)
    return _cards(town_id, cadre.name, Household.id.in_(covered), scope.villages())


@bp.get("/ledger/cadres/<uuid:cadre_id>/notebook.pdf")
@requires(Capability.VIEW)
def cadre_notebook(cadre_id: uuid.UUID) -> Response:
    from server.console import pdf  # when first asked for, as in _cards

    cadre = cadre_or_404(cadre_id)
    data = pdf.notebook_pdf(
        notebook(db.session, current_scope(), cadre), utcnow().astimezone(CHINA).date()
    )
    return _pdf(data, f"民情记录本-{cadre.name}.pdf")
