"""The conflicts review queue: keep the value that won, take the one that lost,
or enter another; the decision is audited and reaches phones at their next sync."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from server.accounts.scope import Capability
from server.console.access import conflict_or_404, current_account, current_scope, requires
from server.console.blueprint import bp, localized
from server.console.facts import EnteredValueError, display, first_message, parse_value
from server.console.forms import CHOOSE, DecideForm
from server.console.reports import conflicts
from server.console.reports.ledger import FIELD_LABELS
from server.db import db
from server.rejected import Rejected
from server.sync.conflicts import resolve_conflict


def _queue(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    page = conflicts.open_conflicts(
        db.session, current_scope(), max(1, request.args.get("page", type=int, default=1))
    )
    return render_template(
        "console/conflicts.html",
        page=page,
        fields=FIELD_LABELS,
        display=display,
        form=DecideForm(),
        error=error,
    ), status


@bp.get("/conflicts")
@requires(Capability.MANAGE)
def conflict_queue() -> ResponseReturnValue:
    return _queue()


@bp.post("/conflicts/<uuid:conflict_id>")
@requires(Capability.MANAGE)
def conflict_decide(conflict_id: uuid.UUID) -> ResponseReturnValue:
    conflict = conflict_or_404(conflict_id)
    form = DecideForm()
    if not form.validate_on_submit() or form.choice.data not in ("keep", "overturn", "other"):
        return _queue(localized(CHOOSE), 400)
    try:
        entered = None
        if form.choice.data == "other":
            entered = parse_value(conflict.field, form.value.data or "")
        resolve_conflict(
            db.session, current_account(), conflict, form.choice.data == "keep", entered
        )
    except (Rejected, EnteredValueError) as refused:
        return _queue(localized(str(refused)), 400)
    except ValidationError as invalid:
        return _queue(localized(first_message(invalid.messages)), 400)
    flash("已处理该冲突，手机下次同步时更新 / decided; phones update at their next sync")
    return redirect(url_for("console.conflict_queue"))
