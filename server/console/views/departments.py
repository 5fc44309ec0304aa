"""The county's departments: the list the county admin keeps (with each
category's deadline), and how each department is doing, for the inspectors."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server.accounts.scope import Capability
from server.audit.services import Actor
from server.clock import utcnow
from server.console.access import (
    current_account,
    current_scope,
    department_or_404,
    requires,
)
from server.console.blueprint import bp, localized
from server.console.forms import DeadlinesForm, DepartmentForm
from server.console.reports import issues
from server.db import db
from server.issues import departments
from server.ledger.models import County
from server.ledger.queries import first_county
from shared.vocab import DepartmentKind, IssueCategory


def _county() -> County:
    county = first_county(db.session)
    if county is None:
        abort(404)
    return county


def _actor() -> Actor:
    return Actor(account_id=current_account().id)


def _page(error: str | None = None, form: DepartmentForm | None = None) -> ResponseReturnValue:
    county = _county()
    listed = departments.listed(db.session, county.id)
    return render_template(
        "console/departments.html",
        departments=listed,
        in_use={
            department.id for department in listed if departments.in_use(db.session, department)
        },
        kinds=list(DepartmentKind),
        form=form or DepartmentForm(),
        deadlines_form=DeadlinesForm(),
        deadlines=departments.deadlines(db.session, county.id),
        error=error,
    ), 400 if error else 200


def _attempt(form: DepartmentForm, change: Callable[[], object]) -> str | None:
    """Make ``change`` if the form is valid: None once made, else why it was
    refused (the form's first error, or the department list's)."""
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [""])
        return localized(str(first[0]))
    try:
        change()
    except departments.DepartmentError as refused:
        return localized(str(refused))
    return None


def _entered(form: DepartmentForm) -> tuple[str, str, str]:
    """The name, kind and phone a department form was filled with."""
    return form.name.data, form.kind.data, form.phone.data or ""


@bp.get("/departments")
@requires(Capability.CONFIGURE)
def departments_page() -> ResponseReturnValue:
    return _page()


@bp.post("/departments")
@requires(Capability.CONFIGURE)
def department_add() -> ResponseReturnValue:
    form = DepartmentForm()
    error = _attempt(
        form, lambda: departments.add(db.session, _actor(), _county().id, *_entered(form))
    )
    if error is not None:
        return _page(error, form)
    flash("已添加部门 / the department has been added")
    return redirect(url_for("console.departments_page"))


@bp.post("/departments/<uuid:department_id>")
@requires(Capability.CONFIGURE)
def department_change(department_id: uuid.UUID) -> ResponseReturnValue:
    department = department_or_404(department_id)
    form = DepartmentForm()
    if request.form.get("remove") == "1":
        error = _attempt(form, lambda: departments.remove(db.session, _actor(), department))
    else:
        error = _attempt(
            form, lambda: departments.change(db.session, _actor(), department, *_entered(form))
        )
    if error is not None:
        return _page(error)
    flash("已保存 / saved")
    return redirect(url_for("console.departments_page"))


@bp.post("/departments/deadlines")
@requires(Capability.CONFIGURE)
def department_deadlines() -> ResponseReturnValue:
    if not DeadlinesForm().validate_on_submit():
        abort(400)
    days: dict[IssueCategory, int] = {}
    for category in IssueCategory:
        value = request.form.get(f"days-{category.value}", "").strip()
        if not value.isdigit():
            return _page(
                localized(
                    f"“{category.zh}”的时限须为天数 / the deadline for '{category.en}' must be a number of days"
                )
            )
        days[category] = int(value)
    try:
        departments.set_deadlines(db.session, _actor(), _county().id, days)
    except departments.DepartmentError as refused:
        return _page(localized(str(refused)))
    flash(
        "已保存时限，之后转交的问题按新时限 / saved: problems passed on from now have these deadlines"
    )
    return redirect(url_for("console.departments_page"))


@bp.get("/problems/departments")
@requires(Capability.INSPECT)
def department_table() -> str:
    county = _county()
    listed = [department.name for department in departments.listed(db.session, county.id)]
    return render_template(
        "console/issues/departments.html",
        table=issues.department_table(db.session, current_scope(), utcnow(), listed),
    )
