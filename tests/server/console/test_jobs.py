"""Long downloads as jobs, seen from the console: asked for, prepared, taken once
ready, by the account that asked alone, and audited."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.audit.models import AuditEntry
from server.jobs.models import Job, JobStatus
from tests.server.console.conftest import County, csrf_token, login, prepared


def test_a_towns_ledger_is_prepared_in_the_background_and_only_its_asker_takes_it(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    admin = county.accounts["town_admin"]
    login(client, admin)
    town = f"/ledger/towns/{county.town.id}"
    job_page = prepared(client, session_factory, town, f"{town}/ledger.xlsx")
    taken = client.get(f"{job_page}/file")
    assert taken.status_code == 200 and taken.data.startswith(b"PK")  # an .xlsx is a zip
    assert taken.headers["Content-Disposition"].startswith("attachment")
    # A second click within minutes takes the same file, made once.
    again = client.post(f"{town}/ledger.xlsx", data={"csrf_token": csrf_token(client, town)})
    assert again.headers["Location"] == job_page
    jobs = session.scalars(select(Job).where(Job.account_id == admin.id)).all()
    assert [(job.kind, job.status) for job in jobs] == [("town_ledger", JobStatus.DONE)]
    audited = session.execute(
        select(AuditEntry.action, AuditEntry.account_id, AuditEntry.changes).where(
            AuditEntry.entity == "job"
        )
    ).all()
    assert sorted((action, who) for action, who, _ in audited) == [
        ("download", admin.id),
        ("request", admin.id),
        ("request", admin.id),
    ]
    assert {changes["kind"] for _, _, changes in audited} == {"town_ledger"}
    # Nobody else: not the county admin (who sees the town), nor its village leader.
    for other in ("county_admin", "village_leader", "other_town_admin"):
        login(client, county.accounts[other])
        assert client.get(job_page).status_code == 404, other
        assert client.get(f"{job_page}/file").status_code == 404, other


def test_a_file_asked_for_before_it_is_ready_sends_back_to_the_jobs_page(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["county_admin"])
    asked = client.post("/ledger/ledger.xlsx", data={"csrf_token": csrf_token(client, "/ledger")})
    job_page = asked.headers["Location"]
    early = client.get(f"{job_page}/file")
    assert early.status_code == 302 and early.headers["Location"] == job_page
    english = client.get(f"{job_page}?lang=en").get_data(as_text=True)
    assert "Preparing…" in english and "the county ledger (.xlsx)" in english
