"""Logging in and out, and the front page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from server.accounts import sessions
from server.accounts.auth import password_login
from server.accounts.login import LoginRefused
from server.accounts.models import Account
from server.accounts.scope import Capability
from server.clock import utcnow
from server.console.access import current_scope, requires
from server.console.blueprint import bp, localized
from server.console.forms import LoginForm
from server.console.reports.overview import overview
from server.db import db
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
                _sign_in(account)
                return redirect(console_page_or_home(request.args.get("next", "")))
    return render_template("console/login.html", form=form, error=error)


def _sign_in(account: Account) -> None:
    """A fresh cookie (nothing of an earlier one carries over but the language)."""
    language = session.get("lang")
    if "token" in session:
        sessions.end(db.session, session["token"])
    session.clear()
    if language:
        session["lang"] = language
    lifetime = timedelta(hours=current_app.config["CONSOLE_SESSION_HOURS"])
    session["token"] = sessions.start(db.session, account, lifetime)


def console_page_or_home(target: str) -> str:
    """Where to go after logging in: ``target`` if it is a page of the console, else home.

    Browsers drop tabs and newlines from an address and read a backslash as a
    slash, so "/\t/evil.example" leaves the site: only a plain path the
    console's own URL map answers, with its query, is followed.
    """
    home: str = url_for("console.home")
    if any(char < " " or char in "\\\x7f" for char in target):
        return home
    if not target.startswith("/") or target.startswith("//"):
        return home
    adapter = current_app.create_url_adapter(request)
    try:
        endpoint, _ = adapter.match(urlsplit(target).path, method="GET")  # type: ignore[union-attr]
    except HTTPException:
        return home
    if not endpoint.startswith("console.") or endpoint == "console.static":
        return home
    return request.script_root + target


@bp.post("/logout")
def logout() -> Response:
    token = session.pop("token", None)
    if token is not None:
        sessions.end(db.session, token)
    return redirect(url_for("console.login"))


@bp.get("/")
@requires(Capability.VIEW, Capability.RESPOND)
def home() -> ResponseReturnValue:
    if not current_scope().can(Capability.VIEW):
        # A department's console is the list of issues passed to it.
        return redirect(url_for("console.issue_list"))
    return render_template(
        "console/home.html", overview=overview(db.session, current_scope(), utcnow())
    )
