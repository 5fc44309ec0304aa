"""The coverage dashboard (全覆盖) and the lists behind each of its numbers."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlencode

from flask import abort, render_template, request, url_for

from server.accounts.scope import Capability
from server.clock import utcnow
from server.console import charts
from server.console.access import (
    current_scope,
    optional_uuid,
    requires,
    town_or_404,
    unit_or_404,
    village_or_404,
)
from server.console.blueprint import bp
from server.console.reports import coverage
from server.db import db


def _where() -> coverage.Where:
    """The town, village and unit asked for, each checked against the scope."""
    town_id, village_id, unit_id = (optional_uuid(name) for name in ("town", "village", "unit"))
    if town_id is not None:
        town_or_404(town_id)
    if village_id is not None:
        village_or_404(village_id)
    if unit_id is not None:
        unit_or_404(unit_id)
    return coverage.Where(town_id, village_id, unit_id)


def _days() -> int:
    days = request.args.get("days", type=int, default=coverage.WINDOWS[0])
    return days if days in coverage.WINDOWS else coverage.WINDOWS[0]


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], default: E) -> E:
    """The list asked for with ``show``; an unknown one is a 404."""
    try:
        return kind(request.args.get("show", default.value))
    except ValueError:
        abort(404)


def _page() -> int:
    return max(1, request.args.get("page", type=int, default=1))


@bp.get("/coverage")
@requires(Capability.VIEW)
def coverage_dashboard() -> str:
    days = _days()
    where = _where()
    board = coverage.dashboard(db.reports, current_scope(), utcnow(), where)
    households_url = url_for("console.coverage_households")
    narrowing = urlencode(where.as_args())

    def chart(groups: list[coverage.Group], key: str) -> tuple[charts.BarChart, charts.BarChart]:
        bars = [
            charts.Bar(
                label=f"{group.town} {group.name}".strip() if key == "village" else group.name,
                value=group.tally.share(days),
                note=f"{group.tally.visited[days]:,}/{group.tally.households:,}",
                # A bar opens the households it leaves out: those to visit.
                href=households_url
                + "?"
                + urlencode(
                    {
                        **where.as_args(),
                        key: str(group.id),
                        "show": coverage.HouseholdList.STALE.value,
                        "days": days,
                    }
                ),
            )
            for group in groups
        ]
        return charts.bar_chart(bars), charts.phone_chart(bars)

    shown = {
        "town": coverage.lowest(board.towns, days),
        "village": coverage.lowest(board.villages, days),
        "unit": coverage.lowest(board.units, days),
    }
    return render_template(
        "console/coverage/dashboard.html",
        board=board,
        days=days,
        windows=coverage.WINDOWS,
        where=where,
        list_url=f"{households_url}?{narrowing}{'&' if narrowing else ''}",
        shown=shown,
        charts={key: chart(groups, key) for key, groups in shown.items()},
        low_share=charts.LOW_SHARE,
    )


@bp.get("/coverage/households")
@requires(Capability.VIEW)
def coverage_households() -> str:
    show = _choice(coverage.HouseholdList, coverage.HouseholdList.ALL)
    where, days = _where(), _days()
    page = coverage.households(db.reports, current_scope(), utcnow(), where, show, days, _page())
    return render_template(
        "console/coverage/households.html", page=page, show=show, days=days, where=where
    )


@bp.get("/coverage/cadres")
@requires(Capability.VIEW)
def coverage_cadres() -> str:
    show = _choice(coverage.CadreList, coverage.CadreList.IDLE)
    where = _where()
    page = coverage.cadres(db.reports, current_scope(), utcnow(), where, show, _page())
    return render_template("console/coverage/cadres.html", page=page, show=show, where=where)
