"""County-wide settings: the public-service numbers printed on every contact card."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from server.accounts.scope import Capability
from server.audit.services import Actor, record
from server.console.access import current_account, requires
from server.console.blueprint import bp, localized
from server.console.forms import ServiceNumbersForm
from server.console.reports import first_county
from server.db import db

MAX_NUMBERS = 8  # what fits on a card
MAX_LENGTH = 40


@bp.route("/settings", methods=["GET", "POST"])
@requires(Capability.CONFIGURE)
def settings() -> ResponseReturnValue:
    county = first_county(db.session)
    if county is None:
        return render_template("console/settings.html", county=None, form=None, error=None)
    form = ServiceNumbersForm()
    error = None
    if form.validate_on_submit():
        numbers = [line.strip() for line in (form.numbers.data or "").splitlines() if line.strip()]
        if len(numbers) > MAX_NUMBERS or any(len(line) > MAX_LENGTH for line in numbers):
            error = localized(
                f"最多 {MAX_NUMBERS} 行，每行不超过 {MAX_LENGTH} 个字"
                f" / at most {MAX_NUMBERS} lines of at most {MAX_LENGTH} characters"
            )
        else:
            record(
                db.session,
                Actor(account_id=current_account().id),
                "update",
                "county",
                county.id,
                {"service_numbers": [county.service_numbers, numbers]},
            )
            county.service_numbers = numbers
            flash(
                "已保存，新印的联系服务卡将使用这些电话 / saved: cards printed from now on show these"
            )
            return redirect(url_for("console.settings"))
    elif not form.is_submitted():
        form.numbers.data = "\n".join(county.service_numbers)
    return render_template(
        "console/settings.html", county=county, form=form, error=error
    ), 400 if error else 200
