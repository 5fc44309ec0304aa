"""The issues board, its lists, and an issue's page where admins act on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from server.accounts.scope import Capability
from server.clock import utcnow
from server.console.access import (
    current_account,
    current_scope,
    issue_or_404,
    optional_uuid,
    requires,
    town_or_404,
    village_or_404,
)
from server.console.blueprint import bp, localized
from server.console.forms import DuplicateForm, NoteForm, PassForm, StatusForm
from server.console.reports import issues
from server.db import db
from server.issues import departments, services
from server.issues.models import Issue
from server.photos.queries import photos_of_issue
from shared.vocab import IssueCategory, IssueStatus


@bp.get("/problems")
@requires(Capability.VIEW, Capability.RESPOND)
def issue_board() -> str:
    return render_template(
        "console/issues/board.html",
        board=issues.board(db.session, current_scope(), utcnow()),
        where=issues.IssueFilter(),
        choices=filter_choices(),
        list_url=url_for("console.issue_list"),
        now=utcnow(),
    )


# Longer search words than this are cut (an issue's text is a few sentences).
MAX_WORDS = 40


class BadFilter(Exception):
    """A filter value the list cannot use; the message is bilingual."""


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(
            f"日期“{value[:20]}”格式不对，请写成 2026-07-20"
            f" / the date '{value[:20]}' is not right: write it as 2026-07-20"
        ) from None


def _filter() -> issues.IssueFilter:
    args = request.args
    status, category = args.get("status"), args.get("category")
    if (status and status not in IssueStatus.codes()) or (
        category and category not in IssueCategory.codes()
    ):
        abort(404)
    town_id, village_id = optional_uuid("town"), optional_uuid("village")
    if town_id is not None:
        town_or_404(town_id)
    if village_id is not None:
        village_or_404(village_id)
    raised_from, raised_to = _day("from"), _day("to")
    if raised_from and raised_to and raised_from > raised_to:
        raise BadFilter("起始日期晚于截止日期 / the first day is after the last day")
    return issues.IssueFilter(
        status=IssueStatus(status) if status else None,
        category=IssueCategory(category) if category else None,
        town_id=town_id,
        village_id=village_id,
        department=args.get("department") or None,
        unsolved=args.get("unsolved") == "1",
        overdue=args.get("overdue") == "1",
        linked=args.get("linked") == "1",
        text=args.get("q", "").strip()[:MAX_WORDS],
        cadre=args.get("cadre", "").strip()[:MAX_WORDS],
        raised_from=raised_from,
        raised_to=raised_to,
    )


def filter_choices() -> dict[str, object]:
    """What the filter bar offers to choose from, in the account's scope."""
    return {
        "categories": list(IssueCategory),
        "statuses": list(IssueStatus),
        "villages": issues.villages(db.session, current_scope()),
        "departments": issues.departments(db.session, current_scope()),
    }


@bp.get("/problems/list")
@requires(Capability.VIEW, Capability.RESPOND)
def issue_list() -> ResponseReturnValue:
    scope, now = current_scope(), utcnow()
    try:
        where = _filter()
    except BadFilter as refused:
        return render_template(
            "console/issues/list.html",
            page=None,
            where=issues.IssueFilter(),
            error=localized(str(refused)),
            choices=filter_choices(),
        ), 400
    page = issues.listing(
        db.session, scope, now, where, max(1, request.args.get("page", type=int, default=1))
    )
    return render_template(
        "console/issues/list.html",
        page=page,
        where=where,
        in_scope=issues.in_scope_count(db.session, scope) if where.narrowed else page.total,
        choices=filter_choices(),
        now=now,
    )


@bp.get("/problems/<uuid:issue_id>")
@requires(Capability.VIEW, Capability.RESPOND)
def issue_detail(issue_id: uuid.UUID) -> ResponseReturnValue:
    return issue_page(issue_or_404(issue_id))


def issue_page(
    issue: Issue,
    form: FlaskForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    seen = issue.status.value
    county_id = issue.village.town.county_id
    forms = {
        "pass": PassForm(seen_status=seen),
        "status": StatusForm(seen_status=seen),
        "note": NoteForm(),
        "duplicate": DuplicateForm(),
    }
    # The form that failed comes back as it was sent, with its message.
    for name, blank in forms.items():
        if form is not None and type(form) is type(blank):
            forms[name] = form
    since, due = issues.waiting(db.session, issue)
    return render_template(
        "console/issues/issue.html",
        issue=issue,
        raised_by=issue.raised_by,
        timeline=issues.timeline(db.session, issue),
        photos=photos_of_issue(db.session, issue.id),
        since=since,
        due=due,
        now=utcnow(),
        forms=forms,
        departments=departments.listed(db.session, county_id),
        deadline=departments.deadlines(db.session, county_id)[issue.category],
        group=issues.group_of(db.session, issue),
        candidates=issues.duplicate_candidates(db.session, current_scope(), issue),
        statuses=[
            code for code in services.statuses_for(current_account()) if code != issue.status
        ],
        suggested=services.next_status(issue.status),
        error=error,
    ), status


def _act(
    issue_id: uuid.UUID, form: FlaskForm, act: Callable[[Issue], object], done: str
) -> ResponseReturnValue:
    """Run one of the admin's steps on an issue; its refusal shows on the page."""
    issue = issue_or_404(issue_id)
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [""])
        return issue_page(issue, form, localized(str(first[0])), 400)
    try:
        act(issue)
    except services.IssueActionError as refused:
        return issue_page(issue, form, localized(str(refused)), 400)
    flash(done)
    return redirect(url_for("console.issue_detail", issue_id=issue.id))


@bp.post("/problems/<uuid:issue_id>/pass")
@requires(Capability.MANAGE)
def issue_pass(issue_id: uuid.UUID) -> ResponseReturnValue:
    form = PassForm()
    return _act(
        issue_id,
        form,
        lambda issue: services.pass_to_department(
            db.session,
            current_account(),
            issue,
            form.department.data,
            form.days.data,
            form.note.data or "",
            form.seen_status.data,
        ),
        "已转交部门，手机下次同步时可见 / passed to the department; phones see it at their next sync",
    )


@bp.post("/problems/<uuid:issue_id>/status")
@requires(Capability.MANAGE, Capability.RESPOND)
def issue_status(issue_id: uuid.UUID) -> ResponseReturnValue:
    form = StatusForm()
    return _act(
        issue_id,
        form,
        lambda issue: services.record_status(
            db.session,
            current_account(),
            issue,
            form.status.data,
            form.note.data or "",
            form.seen_status.data,
        ),
        "已记录办理情况 / the progress has been recorded",
    )


@bp.post("/problems/<uuid:issue_id>/duplicate")
@requires(Capability.MANAGE)
def issue_duplicate(issue_id: uuid.UUID) -> ResponseReturnValue:
    """Link the issue under another (chosen from the list), or unlink it (none chosen)."""
    form = DuplicateForm()

    def link(issue: Issue) -> None:
        if not form.main.data:
            services.unlink_duplicate(db.session, current_account(), issue)
            return
        try:
            main = issue_or_404(uuid.UUID(form.main.data))
        except ValueError:
            abort(404)
        services.link_duplicate(db.session, current_account(), issue, main)

    return _act(
        issue_id, form, link, "已保存问题的合并 / the link between the problems has been saved"
    )


@bp.post("/problems/<uuid:issue_id>/note")
@requires(Capability.MANAGE, Capability.RESPOND)
def issue_note(issue_id: uuid.UUID) -> ResponseReturnValue:
    form = NoteForm()
    return _act(
        issue_id,
        form,
        lambda issue: services.add_note(db.session, current_account(), issue, form.note.data),
        "已添加跟进记录 / the follow-up note has been added",
    )
