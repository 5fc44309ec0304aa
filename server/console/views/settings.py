"""County-wide settings: the public-service numbers printed on every contact
card, and the minutes the county's phones wait before asking the PIN again."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from server.accounts.scope import Capability
from server.audit.services import Actor, record
from server.console.access import current_account, requires
from server.console.blueprint import bp, localized
from server.console.forms import PhoneLockForm, ServiceNumbersForm
from server.db import db
from server.ledger import settings as county_settings
from server.ledger.queries import first_county

MAX_NUMBERS = 8  # what fits on a card
MAX_LENGTH = 40


def _page(
    form: ServiceNumbersForm | None = None,
    lock_form: PhoneLockForm | None = None,
    error: str | None = None,
) -> ResponseReturnValue:
    county = first_county(db.session)
    if county is None:
        return render_template("console/settings.html", county=None, form=None, error=None)
    if form is None:
        form = ServiceNumbersForm()
        form.numbers.data = "\n".join(county.service_numbers)
    default = current_app.config["PHONE_LOCK_MINUTES"]
    if lock_form is None:
        lock_form = PhoneLockForm()
        lock_form.minutes.data = str(county.phone_lock_minutes or default)
    return render_template(
        "console/settings.html",
        county=county,
        form=form,
        lock_form=lock_form,
        lock_default=default,
        lock_range=(county_settings.MIN_LOCK_MINUTES, county_settings.MAX_LOCK_MINUTES),
        error=error,
    ), 400 if error else 200


@bp.route("/settings", methods=["GET", "POST"])
@requires(Capability.CONFIGURE)
def settings() -> ResponseReturnValue:
    county = first_county(db.session)
    if county is None:
        return _page()
    form = ServiceNumbersForm()
    if not form.validate_on_submit():
        return _page(form if form.is_submitted() else None)
    numbers = [line.strip() for line in (form.numbers.data or "").splitlines() if line.strip()]
    if len(numbers) > MAX_NUMBERS or any(len(line) > MAX_LENGTH for line in numbers):
        error = localized(
            f"最多 {MAX_NUMBERS} 行，每行不超过 {MAX_LENGTH} 个字"
            f" / at most {MAX_NUMBERS} lines of at most {MAX_LENGTH} characters"
        )
        return _page(form, error=error)
    record(
        db.session,
        Actor(account_id=current_account().id),
        "update",
        "county",
        county.id,
        {"service_numbers": [county.service_numbers, numbers]},
    )
    county.service_numbers = numbers
    flash("已保存，新印的联系服务卡将使用这些电话 / saved: cards printed from now on show these")
    return redirect(url_for("console.settings"))


@bp.post("/settings/phone-lock")
@requires(Capability.CONFIGURE)
def settings_phone_lock() -> ResponseReturnValue:
    county = first_county(db.session)
    lock_form = PhoneLockForm()
    if county is None or not lock_form.validate_on_submit():
        return _page(lock_form=lock_form, error=localized(county_settings.REFUSED))
    try:
        county_settings.set_phone_lock_minutes(
            db.session,
            Actor(account_id=current_account().id),
            county,
            county_settings.lock_minutes_from(lock_form.minutes.data or ""),
        )
    except county_settings.SettingRefused as refused:
        return _page(lock_form=lock_form, error=localized(str(refused)))
    flash(
        "已保存：各手机下次同步后按新的时间锁屏"
        " / saved: phones lock after the new time from their next sync"
    )
    return redirect(url_for("console.settings"))
