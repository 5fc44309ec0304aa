"""The admin console: server-rendered pages for admins, leaders and inspectors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from server.accounts import services as accounts
from server.accounts.models import Account
from server.db import db
from server.ledger.services import check_integrity
from shared.vocab import AccountRole

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")


def lang() -> str:
    return session.get("lang", "zh")


@bp.app_context_processor
def _translations() -> dict[str, Any]:
    def t(zh: str, en: str) -> str:
        return zh if lang() == "zh" else en

    return {"t": t, "lang": lang(), "account": g.get("account")}


@bp.before_app_request
def _load_account() -> None:
    if request.path.startswith("/api/"):
        return
    if request.args.get("lang") in ("zh", "en"):
        session["lang"] = request.args["lang"]
    account_id = session.get("account_id")
    if account_id:
        account = db.session.get(Account, uuid.UUID(account_id))
        g.account = account if account is not None and account.active else None


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("account") is None:
            return redirect(url_for("console.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("用户名 / username", validators=[DataRequired()])
    password = PasswordField("密码 / password", validators=[DataRequired()])


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            account = accounts.authenticate(
                db.session,
                form.username.data,
                form.password.data,
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
            )
        except accounts.LoginRefused as refused:
            error = str(refused)
        else:
            if account.role == AccountRole.CADRE:
                error = "挂户干部请使用手机应用 / cadres use the phone app"
            else:
                session.clear()
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


@bp.route("/")
@login_required
def home() -> str:
    report = check_integrity(db.session)
    return render_template("console/home.html", report=report)
