"""Long downloads as background jobs: asked for with a button (POST), prepared by the
worker (server/jobs/), followed on the job's page, taken from there when ready.

Only the account that asked sees a job, and only while the job's town or
village is still in its scope: both are checked on every page and download.
Asking and taking are audited.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable

from flask import Response, abort, redirect, render_template, send_file, url_for
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.scope import Capability
from server.audit.services import Actor, record
from server.console.access import (
    current_account,
    current_scope,
    inspector_or_404,
    job_or_404,
    requires,
    village_or_404,
    whole_town_or_404,
)
from server.console.blueprint import bp
from server.console.downloads import TITLES
from server.db import db
from server.jobs import queue
from server.jobs.models import Job, JobStatus


def _whole_county(_: str) -> None:
    if not current_scope().whole_county:
        abort(403)


def _whole_town(target: str) -> None:
    whole_town_or_404(uuid.UUID(target.partition("/")[0]))


def _village(target: str) -> None:
    village_or_404(uuid.UUID(target))


def _village_photos(target: str) -> None:
    """A village's photos are for those who check the work there: admins and inspectors."""
    scope = current_scope()
    if not (scope.can(Capability.MANAGE) or scope.can(Capability.INSPECT)):
        abort(403)
    village_or_404(uuid.UUID(target))


def _town_sheet(target: str) -> None:
    """A whole town's inspection sheet is for the admins who send inspectors out;
    an inspector prints the households assigned to them."""
    scope = current_scope()
    if not (scope.can(Capability.INSPECT) and scope.can(Capability.MANAGE)):
        abort(403)
    whole_town_or_404(uuid.UUID(target))


def _inspector_sheet(target: str) -> None:
    """An inspector's own sheet, or one an admin whose area the inspector works in
    prints for them; any other inspector is not found."""
    scope = current_scope()
    if not scope.can(Capability.INSPECT):
        abort(403)
    inspector = inspector_or_404(uuid.UUID(target.partition("/")[0]))
    if not (inspector.town_id is None or scope.has_town(inspector.town_id)):
        abort(404)


# Who may have each kind's file: the same checks as the pages it comes from.
CHECKS: dict[str, Callable[[str], None]] = {
    "county_ledger": _whole_county,
    "town_ledger": _whole_town,
    "village_ledger": _village,
    "town_cards": _whole_town,
    "village_cards": _village,
    "town_notebooks": _whole_town,
    "town_inspection_sheet": _town_sheet,
    "inspector_sheet": _inspector_sheet,
    "village_photos": _village_photos,
}


def start(kind: str, target: str = "") -> BaseResponse:
    """Queue ``kind`` for the account (or find the one already made) and show its page.
    Every click is audited, whether it queued a job or found one."""
    CHECKS[kind](target)
    account = current_account()
    job = queue.request(db.session, account.id, kind, target)
    record(db.session, Actor(account_id=account.id), "request", "job", job.id, _facts(job))
    return redirect(url_for("console.job_page", job_id=job.id), code=303)


def job_route(rule: str, endpoint: str, kind: str, *capabilities: Capability) -> None:
    """Register the button (a POST to ``rule``) that asks for ``kind``; the address's
    id, if it has one, is the job's target."""

    def ask(**ids: uuid.UUID) -> BaseResponse:
        return start(kind, *map(str, ids.values()))

    bp.add_url_rule(rule, endpoint, requires(*capabilities)(ask), methods=["POST"])


def _facts(job: Job) -> dict[str, str]:
    return {"kind": job.kind, "target": job.target}


def _job_or_404(job_id: uuid.UUID) -> Job:
    job = job_or_404(job_id)
    CHECKS[job.kind](job.target)
    return job


@bp.get("/jobs/<uuid:job_id>")
@requires(Capability.VIEW)
def job_page(job_id: uuid.UUID) -> str:
    job = _job_or_404(job_id)
    return render_template("console/job.html", job=job, title=TITLES[job.kind])


@bp.get("/jobs/<uuid:job_id>/file")
@requires(Capability.VIEW)
def job_file(job_id: uuid.UUID) -> BaseResponse:
    job = _job_or_404(job_id)
    if job.status is not JobStatus.DONE or job.data is None:
        return redirect(url_for("console.job_page", job_id=job.id))
    facts = {**_facts(job), "file": job.file_name or ""}
    record(db.session, Actor(account_id=job.account_id), "download", "job", job.id, facts)
    answer: Response = send_file(
        io.BytesIO(job.data),
        mimetype=job.mimetype,
        as_attachment=True,
        download_name=job.file_name,
    )
    return answer
