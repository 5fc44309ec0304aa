"""A pushed batch is applied in one go, and answers as if each change came alone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from server.accounts.models import Device
from server.clock import now_ms
from server.issues.models import Deadline, Issue, IssueEvent
from server.ledger.models import County as CountyRecord
from server.ledger.models import Household
from server.sync.batch import Batch, NewRecord
from server.sync.models import AppliedChange, Conflict
from server.visits.models import Visit
from shared.vocab import IssueCategory, IssueStatus
from sync.phone import Phone
from sync.store import OutboxEntry
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County


def forge(phone: Phone, entry: OutboxEntry, **record: Any) -> None:
    """Queue a copy of ``entry`` with its record changed, as a bad client might."""
    copy = {**entry.record, **record}
    forged = OutboxEntry(
        str(uuid.uuid4()),
        entry.kind,
        entry.op,
        copy["id"],
        entry.household_id,
        entry.stamp,
        entry.base_seq,
        copy,
    )
    phone.store.commit_local([], [forged], {})


def test_a_change_the_database_refuses_is_rejected_alone_and_the_rest_applies(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.record_visit(household, issues=[{"category": "medical", "description": "看病难"}])
    phone.sync()
    (issue,) = phone.issues()
    # A note whose id is the one the server will give the "raised"
    # event of an issue still to come: the schemas cannot see the clash.
    clashing = uuid.uuid4()
    phone.follow_up(issue["id"], note="回访")
    forge(phone, phone.store.pending(1)[0], id=str(uuid.uuid5(clashing, "raised")))
    phone.sync()
    phone.record_visit(household, notes="一", issues=[{"category": "other", "description": "路灯"}])
    forge(phone, phone.store.pending(2)[1], id=str(clashing))
    phone.record_visit(household, notes="二")
    batch = [entry.to_wire() for entry in phone.store.pending(10)]
    report = phone.sync()
    assert report.applied == 3
    assert [r["message"] for r in report.rejected] == [
        "与已有数据冲突，未保存 / clashes with existing data: not stored"
    ]
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 3
        assert session.scalar(select(func.count()).select_from(Issue)) == 2
        assert session.get(Issue, clashing) is None
        assert session.scalar(select(func.count()).select_from(IssueEvent)) == 4
    # Pushed again (its answer lost), the batch changes nothing and each
    # change gets the answer it got the first time.
    again = transport.push(phone.store.get_meta("token"), phone.clock.physical_ms(), batch)
    assert [r["status"] for r in again["results"]] == [
        "already_applied",
        "already_applied",
        "rejected",
        "already_applied",
    ]


def edit_three_times(phone: Phone, household: str) -> None:
    phone.edit_household(household, phones=["13905960001"])
    phone.edit_household(household, notes="外出务工")
    phone.edit_household(household, phones=["13905960002"])


def test_a_household_edited_several_times_in_one_batch_merges_as_if_pushed_one_by_one(
    county: County, transport: FlaskTransport
) -> None:
    together, alone = county.cadres
    first = county.phone(together, transport)
    second = county.phone(alone, transport)
    first.sync()
    second.sync()
    second.engine.push_batch = second.engine.most_per_push = 1
    edit_three_times(first, county.households[together][0])
    edit_three_times(second, county.households[alone][0])
    first.sync()
    second.sync()

    def outcome(phone: Phone, household: str) -> tuple[Any, ...]:
        results = [entry["result"] for entry in phone.store.outbox("done")]
        with county.session() as session:
            row = session.get(Household, uuid.UUID(household))
            assert row is not None
            conflicts = [
                tuple(conflict)
                for conflict in session.execute(
                    select(Conflict.kind, Conflict.field)
                    .where(Conflict.entity_id == row.id)
                    .order_by(Conflict.kind, Conflict.field)
                )
            ]
            return (
                [(r["status"], [c["field"] for c in r.get("conflicts", [])]) for r in results],
                row.phones,
                row.notes,
                conflicts,
            )

    assert outcome(first, county.households[together][0]) == outcome(
        second, county.households[alone][0]
    )


def test_an_issue_raised_and_followed_up_before_one_sync_arrives_whole(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    household = county.households[username][0]
    phone.record_visit(household, issues=[{"category": "medical", "description": "看病难"}])
    (issue,) = phone.issues()
    phone.follow_up(issue["id"], note="已联系镇卫生院")
    phone.follow_up(issue["id"], status="passed_to_department", department="县卫健局")
    report = phone.sync()
    assert report.ok and report.applied == 4 and not report.rejected
    with county.session() as session:
        stored = session.get(Issue, uuid.UUID(issue["id"]))
        assert stored is not None and stored.status == "passed_to_department"
    assert phone.issues()[0]["status"] == "passed_to_department"


def test_records_entered_and_deleted_before_one_sync_arrive_as_tombstones_not_a_server_error(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    visit = phone.record_visit(household, issues=[{"category": "medical", "description": "错录"}])
    (issue,) = phone.issues(household)
    phone.delete("issue", issue["id"])
    phone.delete("visit", visit)
    report = phone.sync()
    assert (report.applied, report.rejected) == (4, [])
    with county.session() as session:
        assert session.get(Visit, uuid.UUID(visit)).deleted_at is not None
        assert session.get(Issue, uuid.UUID(issue["id"])).deleted_at is not None


def test_an_issue_passed_to_a_department_on_the_phone_gets_the_countys_deadline_for_its_category(
    county: County, transport: FlaskTransport
) -> None:
    with county.session() as session, session.begin():
        county_id = session.scalars(select(CountyRecord.id)).one()
        session.add(Deadline(county_id=county_id, category=IssueCategory.MEDICAL, days=7))
    cadre = county.cadres[0]
    household = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    phone.sync()
    phone.record_visit(household, issues=[{"category": "medical", "description": "医保报销"}])
    (issue,) = phone.issues(household)
    phone.follow_up(issue["id"], status="passed_to_department", department="县医保局")
    assert phone.sync().ok
    with county.session() as session:
        passing = session.scalars(
            select(IssueEvent).where(IssueEvent.status == IssueStatus.PASSED_TO_DEPARTMENT)
        ).one()
        assert passing.due_at is not None
        assert passing.due_at - passing.at == timedelta(days=7)


def test_a_handler_gets_the_same_kind_of_new_record_whether_the_batch_is_applied_together_or_change_by_change(
    county: County, transport: FlaskTransport
) -> None:
    phone = county.phone(county.cadres[0], transport)
    phone.sync()
    with county.session() as session:
        device = session.scalars(select(Device)).one()
        made = [
            Batch(session, device, now_ms(), 0, together=together).create(
                AppliedChange, id=uuid.uuid4(), device_id=device.id, result={}
            )
            for together in (True, False)
        ]
        assert [type(record) for record in made] == [NewRecord, NewRecord]
        assert not session.new, "nothing reaches the session before the batch's flush"
