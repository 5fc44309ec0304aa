"""The console's blueprint and what every page shares: the language, the signed-in
account, template helpers and the friendly error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, g, render_template, request, session
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from server.accounts import sessions
from server.api import api, error_headers
from server.console.access import current_scope
from server.console.reports import CHINA
from server.db import db
from server.monitoring import note, request_id
from shared.vocab import HouseholdTag, Labelled

# The console's files need their own address: at /static the app's own
# (empty) static folder answers first.
bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)


def lang() -> str:
    return str(session.get("lang", "zh"))


def localized(message: str) -> str:
    """One language of a bilingual "中文 / English" message, as the page is shown in."""
    zh, separator, en = message.partition(" / ")
    if not separator:
        return message
    return zh if lang() == "zh" else en


@bp.before_app_request
def _load_account() -> None:
    if request.path.startswith("/api/"):
        return
    if request.args.get("lang") in ("zh", "en"):
        session["lang"] = request.args["lang"]
    token = session.get("token")
    g.account = sessions.account_for(db.session, token) if token else None
    # The scope (access.current_scope) is this request's account's: an app
    # context outliving one request (as the tests' does) must not carry it on.
    g.pop("scope", None)
    if g.account is not None:
        note(account=str(g.account.id))


class NulCharacter(BadRequest):
    """Text with the NUL character, which no column can store (PostgreSQL refuses it)."""

    description = (
        "输入的内容含有空字符（NUL），请删除后重试"
        " / what you entered contains a NUL character: remove it and try again"
    )


@bp.before_request
def _refuse_nul() -> None:
    """Refuse NUL in any query or form value (or name) of any console page, before
    a page reads it, rather than form by form."""
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise NulCharacter()


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def t(zh: str, en: str) -> str:
        return zh if lang() == "zh" else en

    def in_language(code: str) -> str:
        """This page's address in another language, its filters and page kept."""
        args = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
        return "?" + urlencode([*args, ("lang", code)])

    account = g.get("account")
    return {
        "t": t,
        "in_language": in_language,
        "lang": lang(),
        "account": account,
        "scope": current_scope() if account is not None else None,
        "localized": localized,
        "request_id": request_id,
    }


@bp.app_template_filter("label")
def _label(value: Labelled | None) -> str:
    """A code's label in the page's language."""
    return "" if value is None else value.label(lang())


@bp.app_template_filter("tag_label")
def _tag_label(code: str) -> str:
    """A household tag's label; a code this version does not know, as it is."""
    return HouseholdTag(code).label(lang()) if code in HouseholdTag.codes() else code


@bp.app_template_filter("percent")
def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


@bp.app_template_filter("yuan")
def _yuan(value: Any) -> str:
    """An amount of money in yuan, with thousands separated."""
    return f"{value:,.2f}"


@bp.app_template_filter("day")
def _day(value: Any) -> str:
    """A date or time as the county reads it: the day, in China's time."""
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        value = value.astimezone(CHINA)
    return str(value.strftime("%Y-%m-%d"))


@bp.app_template_filter("moment")
def _moment(value: Any) -> str:
    return "" if value is None else str(value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"))


# --- error pages -------------------------------------------------------------------

ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "请求有误，请返回上一页重试 / the request was not right: go back and try again",
        "错误的请求 / bad request",
    ),
    401: (
        "请先登录 / please log in first",
        "未登录 / not logged in",
    ),
    403: (
        "您的账号无权查看或进行此操作 / your account may not see or do this",
        "无权访问 / not allowed",
    ),
    404: (
        "找不到该页面或记录，或它不在您负责的范围内 / no such page or record, or it is outside your area",
        "找不到 / not found",
    ),
    405: (
        "此地址不支持这种操作，请从页面上的按钮或链接进入 / this address does not take that"
        " kind of request: use the buttons and links on the pages",
        "不支持 / not supported",
    ),
    409: (
        "该记录刚被他人修改，请刷新页面后重试 / someone else has just changed this: reload"
        " the page and try again",
        "冲突 / conflict",
    ),
    410: ("该记录已被删除 / this has been removed", "已删除 / gone"),
    413: (
        "提交的内容过大，请缩小后再试 / what you sent is too large: make it smaller and try again",
        "内容过大 / too large",
    ),
    415: (
        "提交的内容格式不对，请从页面上的表单提交 / what you sent is not in a form this page"
        " takes: use the form on the page",
        "格式不对 / unsupported content",
    ),
    429: (
        "操作太频繁，请稍等一会儿再试 / too many requests: wait a moment and try again",
        "太频繁 / too many requests",
    ),
    500: (
        "服务器出错，已记录；请稍后再试 / the server failed; it has been logged: try again later",
        "服务器错误 / server error",
    ),
    503: (
        "数据库暂时无法访问，您的操作未完成；请几秒钟后重试"
        " / the database cannot be reached just now and your action did not complete:"
        " try again in a few seconds",
        "暂时无法服务 / temporarily unavailable",
    ),
}
CSRF_MESSAGE = (
    "表单已过期或不是从本站提交，请刷新页面后重试"
    " / the form has expired or was not sent from this site: reload the page and try again"
)


def _error_page(error: HTTPException) -> Any:
    # The API answers its own errors in JSON.
    if request.path.startswith("/api/"):
        return api.handle_http_exception(error)
    code = error.code or 500
    message, title = ERRORS.get(code, ERRORS[400 if code < 500 else 500])
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    elif isinstance(error, NulCharacter):
        message = NulCharacter.description
    # Both languages: the one chosen first, the other beneath, for whoever the
    # page is shown or forwarded to.
    zh, _, en = message.partition(" / ")
    page = render_template(
        "console/error.html",
        code=code,
        title=localized(title),
        messages=(zh, en) if lang() == "zh" else (en, zh),
    )
    return page, code, error_headers(error)


# By code, so they come before the API's handler of every HTTPException, and
# 500 also catches unhandled exceptions; then every other HTTP error.
for _code in ERRORS:
    bp.app_errorhandler(_code)(_error_page)
bp.app_errorhandler(HTTPException)(_error_page)
