"""Logging in and out, and the front page."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from server.accounts.auth import password_login
from server.accounts.login import LoginRefused
from server.accounts.scope import Capability
from server.console.access import current_scope, requires
from server.console.blueprint import bp, localized
from server.console.forms import LoginForm
from server.console.reports.overview import overview
from server.db import db, utcnow
from shared.vocab import AccountRole


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            account = password_login(form.username.data, form.password.data)
        except LoginRefused as refused:
            error = localized(str(refused))
        else:
            if account.role == AccountRole.CADRE:
                error = localized("挂户干部请使用手机应用 / cadres use the phone app")
            else:
                language = session.get("lang")
                session.clear()
                if language:
                    session["lang"] = language
                session["account_id"] = str(account.id)
                target = request.args.get("next", "")
                # Only follow local paths, never an address elsewhere.
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("console.home")
                return redirect(target)
    return render_template("console/login.html", form=form, error=error)


@bp.post("/logout")
def logout() -> Response:
    session.pop("account_id", None)
    return redirect(url_for("console.login"))


@bp.get("/")
@requires(Capability.VIEW)
def home() -> str:
    return render_template(
        "console/home.html", overview=overview(db.session, current_scope(), utcnow())
    )
