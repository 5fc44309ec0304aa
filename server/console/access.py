"""Guarding pages: signed in, allowed by role, and records only from the account's scope.

The rules themselves are in ``server.accounts.scope``; this applies them to
requests. A record outside the scope answers 404, exactly like one that does
not exist, so ids from another town reveal nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, url_for

from server.accounts.models import Account
from server.accounts.scope import Capability, Scope, scope_for
from server.db import db
from server.inspections.services import manages
from server.issues.models import Department, Issue
from server.jobs.models import Job
from server.ledger.models import Cadre, Grid, Household, Town, Village, WorkUnit
from server.ledger.queries import first_county
from server.photos.models import Photo
from server.photos.services import PARENTS, parent_issue
from server.sync.models import Conflict
from shared.vocab import AccountRole

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def current_account() -> Account:
    account: Account = g.account
    return account


def current_scope() -> Scope:
    if "scope" not in g:
        g.scope = scope_for(db.session, current_account())
    scope: Scope = g.scope
    return scope


def requires(*capabilities: Capability) -> Callable[[F], F]:
    """Signed in (else to the login page), and the role has one of ``capabilities`` (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("account") is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if not any(current_scope().can(capability) for capability in capabilities):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


# --- records, only from the scope ---------------------------------------------------


def _visible_or_404(model: type[R], record_id: uuid.UUID, visible: Callable[[R], bool]) -> R:
    """The record, if it exists and the account's scope shows it; else 404."""
    record = db.session.get(model, record_id)
    if record is None or not visible(record):
        abort(404)
    return record


def town_or_404(town_id: uuid.UUID) -> Town:
    return _visible_or_404(Town, town_id, lambda town: current_scope().has_town(town.id))


def whole_town_or_404(town_id: uuid.UUID) -> Town:
    """A town the account sees all of (a leader sees only their villages of it)."""
    town = town_or_404(town_id)
    if current_scope().village_ids is not None:
        abort(404)
    return town


def village_or_404(village_id: uuid.UUID) -> Village:
    return _visible_or_404(Village, village_id, current_scope().has_village)


def grid_or_404(grid_id: uuid.UUID) -> Grid:
    return _visible_or_404(Grid, grid_id, lambda grid: current_scope().has_village(grid.village))


def household_or_404(household_id: uuid.UUID) -> Household:
    return _visible_or_404(Household, household_id, current_scope().has_household)


def cadre_or_404(cadre_id: uuid.UUID) -> Cadre:
    return _visible_or_404(
        Cadre, cadre_id, lambda cadre: current_scope().has_cadre(db.session, cadre)
    )


def issue_or_404(issue_id: uuid.UUID) -> Issue:
    """A issue not deleted, in the account's scope."""
    return _visible_or_404(
        Issue, issue_id, lambda issue: issue.deleted_at is None and current_scope().has_issue(issue)
    )


def photo_or_404(photo_id: uuid.UUID) -> Photo:
    """A live photo of a live record the account may see: a visit's by its
    household (for roles that see the ledger), an issue's or a follow-up's by
    the issue (so a department sees the photos of the issues passed to it)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        abort(404)
    parent: Any = db.session.get(PARENTS[photo.record_kind], photo.record_id)
    if parent is None or getattr(parent, "deleted_at", None) is not None:
        abort(404)
    scope = current_scope()
    if photo.record_kind == "visit":
        household = db.session.get(Household, parent.household_id)
        visible = (
            scope.can(Capability.VIEW) and household is not None and scope.has_household(household)
        )
    else:
        issue = parent_issue(parent, photo.record_kind, db.session.get)
        visible = issue is not None and issue.deleted_at is None and scope.has_issue(issue)
    if not visible:
        abort(404)
    return photo


def conflict_or_404(conflict_id: uuid.UUID) -> Conflict:
    conflict = db.session.get(Conflict, conflict_id)
    household = None if conflict is None else db.session.get(Household, conflict.entity_id)
    if conflict is None or household is None or not current_scope().has_household(household):
        abort(404)
    return conflict


def unit_or_404(unit_id: uuid.UUID) -> WorkUnit:
    unit = db.session.get(WorkUnit, unit_id)
    if unit is None:
        abort(404)
    return unit


def department_or_404(department_id: uuid.UUID) -> Department:
    """A department of the county the console keeps."""
    department = db.session.get(Department, department_id)
    county = first_county(db.session)
    if department is None or county is None or department.county_id != county.id:
        abort(404)
    return department


def inspector_or_404(account_id: uuid.UUID) -> Account:
    """An inspector's account, if this account manages their samples."""
    account = db.session.get(Account, account_id)
    if (
        account is None
        or account.role != AccountRole.INSPECTOR
        or not manages(current_account(), account)
    ):
        abort(404)
    return account


def job_or_404(job_id: uuid.UUID) -> Job:
    """A job this account asked for (whether its target is still in scope is the caller's)."""
    job = db.session.get(Job, job_id)
    if job is None or job.account_id != current_account().id:
        abort(404)
    return job


def uuid_or_404(value: str) -> uuid.UUID:
    """An id from an address or a form; a malformed one is a 404."""
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def optional_uuid(name: str) -> uuid.UUID | None:
    """A query-string id, or None when absent; a malformed one is a 404."""
    value = request.args.get(name, "")
    return uuid_or_404(value) if value else None
