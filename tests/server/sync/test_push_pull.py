"""Push and pull through the real app and database: the sync semantics."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from server.clock import from_ms, now_ms
from server.issues.models import Issue
from server.ledger.models import Household
from server.sync.conflicts import edit_household, resolve_conflict
from server.sync.models import AppliedChange, Conflict
from server.visits.models import Visit
from sync.engine import SyncReport
from sync.hlc import MAX_DRIFT_MS, Stamp
from sync.phone import Phone
from sync.store import OutboxEntry
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import PASSWORD, County

DAY_MS = 24 * 3600 * 1000


def test_a_first_sync_brings_the_cadres_households_and_nothing_else(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    phone = county.phone(first, transport)
    report = phone.sync()
    assert report.ok
    assert sorted(h["id"] for h in phone.households()) == sorted(county.households[first])
    assert not set(h["id"] for h in phone.households()) & set(county.households[second])
    assert phone.store.records("county")[0]["service_numbers"]
    assert {c["name"] for c in phone.store.records("cadre")} == {"干部1"}


def test_a_visit_recorded_offline_reaches_the_ledger_once_even_if_pushed_twice(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    household = county.households[username][0]
    visit_id = phone.record_visit(household, roles=["policy"], notes="讲解医保政策")
    batch = [entry.to_wire() for entry in phone.store.pending(10)]
    transport.push(phone.store.get_meta("token"), phone.clock.physical_ms(), batch)
    # The first answer was lost; the phone pushes the same batch again.
    report = phone.sync()
    assert report.already_applied == 1 and report.applied == 0
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
        assert session.get(Visit, uuid.UUID(visit_id)).notes == "讲解医保政策"
    assert phone.pending_count() == 0


def test_a_response_lost_after_the_server_committed_changes_nothing_on_retry(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    household = county.households[username][0]
    phone.record_visit(household, issues=[{"category": "medical", "description": "看病难"}])
    transport.drop_responses = 1
    failed = phone.sync_with_retry(attempts=1)
    assert failed.error and phone.pending_count() == 2
    again = phone.sync()
    assert again.already_applied == 2
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
        assert session.scalar(select(func.count()).select_from(Issue)) == 1


def test_one_bad_record_is_rejected_alone_and_the_rest_of_the_batch_applies(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    good, other = county.households[username][0], county.households[county.cadres[1]][0]
    phone.record_visit(good, notes="好的")
    # A visit to a household this cadre does not cover, slipped into the outbox.
    forged = phone.store.pending(1)[0]
    record = {**forged.record, "id": str(uuid.uuid4()), "household_id": other}
    phone.store.commit_local(
        [],
        [
            OutboxEntry(
                str(uuid.uuid4()), "visit", "create", record["id"], other, forged.stamp, 0, record
            )
        ],
        {},
    )
    phone.record_visit(good, notes="也好")
    report = phone.sync()
    assert report.applied == 2
    assert len(report.rejected) == 1
    assert "not this household's cadre" in report.rejected[0]["message"]
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 2


def test_malformed_changes_get_per_record_errors_naming_the_field(
    county: County, transport: FlaskTransport
) -> None:
    phone = county.phone(county.cadres[0], transport)
    answer = transport.push(
        phone.store.get_meta("token"),
        phone.clock.physical_ms(),
        [
            {
                "change_id": str(uuid.uuid4()),
                "kind": "visit",
                "op": "create",
                "stamp": str(phone.clock.now()),
                "record": {"id": "nope"},
            },
            {"kind": "spaceship"},
            "not an object",
        ],
    )
    first, second, third = answer["results"]
    assert first["status"] == second["status"] == third["status"] == "rejected"
    assert "id" in first["errors"] and "household_id" in first["errors"]
    assert "kind" in second["errors"]


def test_edits_to_different_fields_of_a_household_both_survive(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.edit_household(household_id, phones=["13905961111"])
    time.sleep(0.05)  # the office's edit comes later, beyond any clock rounding
    with county.session() as session, session.begin():
        household = session.get(Household, uuid.UUID(household_id))
        edit_household(
            session, county.admin_account(session), household, {"members": 6}, household.seq
        )
    assert phone.sync().ok
    mine = phone.household(household_id)
    assert mine["phones"] == ["13905961111"] and mine["members"] == 6
    with county.session() as session:
        assert session.scalar(select(Conflict.kind)) == "soft"


def test_the_same_field_changed_by_the_town_office_later_wins_and_the_phone_is_told(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.edit_household(household_id, phones=["13905961111"])
    time.sleep(0.05)  # the office's edit comes later, beyond any clock rounding
    with county.session() as session, session.begin():
        household = session.get(Household, uuid.UUID(household_id))
        edit_household(
            session,
            county.admin_account(session),
            household,
            {"phones": ["13905962222"]},
            household.seq,
        )
    report = phone.sync()
    assert len(report.conflicts) == 1
    conflict = report.conflicts[0]["conflicts"][0]
    assert conflict["field"] == "phones" and conflict["yours_kept"] is False
    assert "前楼镇办公室" in conflict["by"]
    assert phone.household(household_id)["phones"] == ["13905962222"]
    with county.session() as session, session.begin():
        kept = session.scalars(select(Conflict)).one()
        assert (kept.kind, kept.status, kept.loser_value) == ("hard", "open", ["13905961111"])
        # The admin overturns it: the phone's value goes out as a new edit.
        resolve_conflict(session, county.admin_account(session), kept, keep=False)
    phone.sync()
    assert phone.household(household_id)["phones"] == ["13905961111"]


def test_a_phone_whose_clock_is_days_behind_learns_the_servers_time_and_records_right(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    behind = county.phone(username, transport, skew_ms=-3 * DAY_MS)
    behind.sync()
    visit_id = behind.record_visit(county.households[username][0])
    assert behind.sync().applied == 1
    with county.session() as session:
        visit = session.get(Visit, uuid.UUID(visit_id))
        assert abs(visit.visited_at - from_ms(now_ms())) < timedelta(minutes=5)


def test_a_phone_whose_clock_ran_days_ahead_has_its_times_brought_back_and_is_told(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    ahead = county.phone(username, transport, skew_ms=2 * DAY_MS)
    ahead.sync()
    # Its clock went wrong after the last sync: the learned offset is stale.
    ahead.clock.offset_ms = 0
    visit_id = ahead.record_visit(county.households[username][0])
    report = ahead.sync()
    assert report.applied == 1
    with county.session() as session:
        visit = session.get(Visit, uuid.UUID(visit_id))
        assert abs(visit.visited_at - from_ms(now_ms())) < timedelta(minutes=5)
        assert Stamp.parse(visit.stamp).wall_ms < now_ms() + 60_000
    answer = ahead.store.outbox("done")[-1]["result"]
    assert "ahead: times were corrected" in answer["message"]


def test_a_record_made_before_the_clock_went_wrong_keeps_its_time(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    visit_id = phone.record_visit(county.households[username][0])
    recorded = phone.visits()[0]["visited_at"]
    phone.clock.offset_ms = -3 * DAY_MS  # the clock jumps back before the sync
    assert phone.sync().applied == 1
    with county.session() as session:
        assert session.get(Visit, uuid.UUID(visit_id)).visited_at.isoformat()[:19] == recorded[:19]


def test_a_reassigned_household_moves_to_the_new_phone_and_leaves_the_old_after_its_visits_are_pushed(
    county: County, transport: FlaskTransport
) -> None:
    old, new = county.cadres
    household_id = county.households[old][0]
    old_phone, new_phone = county.phone(old, transport), county.phone(new, transport)
    old_phone.sync(), new_phone.sync()
    old_phone.record_visit(household_id, notes="调走前的走访")
    county.reassign(household_id, new)
    # A pull alone keeps the household: its visit is not pushed yet.
    report = SyncReport()
    old_phone.engine.pull(report)
    assert household_id in {h["id"] for h in old_phone.households()}
    assert report.kept_until_pushed == [household_id]
    assert old_phone.sync().ok and old_phone.sync().ok
    assert household_id not in {h["id"] for h in old_phone.households()}
    new_phone.sync()
    assert household_id in {h["id"] for h in new_phone.households()}
    assert [v["notes"] for v in new_phone.visits(household_id)] == ["调走前的走访"]


def test_a_revoked_phone_gets_told_and_keeps_its_unsent_records(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.record_visit(county.households[username][0])
    with county.session() as session, session.begin():
        from server.accounts.models import Device
        from server.accounts.services import revoke_device
        from server.audit.services import SYSTEM

        revoke_device(session, SYSTEM, session.get(Device, uuid.UUID(phone.device_id)))
    report = phone.sync_with_retry(attempts=3, sleep=lambda _: None)
    assert report.revoked and "revoked" in (report.error or "")
    assert phone.pending_count() == 1
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(AppliedChange)) == 0


def test_a_pull_never_overwrites_an_edit_the_phone_has_not_sent_yet(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.edit_household(household_id, phones=["13905961111"])
    with county.session() as session, session.begin():
        household = session.get(Household, uuid.UUID(household_id))
        edit_household(
            session, county.admin_account(session), household, {"members": 7}, household.seq
        )
    phone.engine.pull(SyncReport())
    shown = phone.household(household_id)
    assert shown["phones"] == ["13905961111"] and shown["members"] == 7


def test_an_edit_that_lost_while_it_waited_leaves_the_phone_showing_the_winner(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.edit_household(household_id, phones=["13905961111"])
    time.sleep(0.05)  # the office's edit comes later, and wins
    with county.session() as session, session.begin():
        household = session.get(Household, uuid.UUID(household_id))
        edit_household(
            session,
            county.admin_account(session),
            household,
            {"phones": ["13905962222"]},
            household.seq,
        )
    # The office's version arrives while the edit waits: the phone shows its own.
    phone.engine.pull(SyncReport())
    assert phone.household(household_id)["phones"] == ["13905961111"]
    # The push is applied but its answer is lost; another pull comes in between.
    token = phone.store.get_meta("token") or ""
    transport.push(token, phone.clock.physical_ms(), [e.to_wire() for e in phone.store.pending(20)])
    phone.engine.pull(SyncReport())
    report = phone.sync()
    assert report.ok and phone.pending_count() == 0
    assert phone.household(household_id)["phones"] == ["13905962222"]


def test_a_removed_household_stays_removed_despite_a_concurrent_edit_until_restored(
    county: County, transport: FlaskTransport
) -> None:
    from server.audit.services import SYSTEM
    from server.ledger.services import check_integrity, remove_household, restore_household

    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.edit_household(household_id, notes="搬去县城了")
    with county.session() as session, session.begin():
        remove_household(
            session, SYSTEM, session.get(Household, uuid.UUID(household_id)), "moved away"
        )
    report = phone.sync()
    assert report.conflicts and "removed" in report.conflicts[0]["message"]
    assert household_id not in {h["id"] for h in phone.households()}
    with county.session() as session, session.begin():
        household = session.get(Household, uuid.UUID(household_id))
        assert household.deleted_at is not None and household.notes == "搬去县城了"
        assert check_integrity(session).breaches["dangling_links"] == []
        restore_household(session, SYSTEM, household)
    phone.sync()
    assert phone.household(household_id)["notes"] == "搬去县城了"


def test_a_visit_entered_by_mistake_is_removed_everywhere_as_a_tombstone(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    mistaken = phone.record_visit(household_id, notes="录错了")
    phone.sync()
    phone.delete("visit", mistaken)
    assert phone.visits(household_id) == []
    assert phone.sync().applied == 1
    with county.session() as session:
        assert session.get(Visit, uuid.UUID(mistaken)).deleted_at is not None
    other = county.phone(username, transport, name="second phone")
    other.sync()
    assert other.visits(household_id) == []


def test_a_revoked_phone_that_logs_in_again_delivers_the_records_it_kept(
    county: County, transport: FlaskTransport
) -> None:
    from server.accounts.models import Device
    from server.accounts.services import revoke_device
    from server.audit.services import SYSTEM
    from tests.server.sync.world import PASSWORD

    username = county.cadres[0]
    phone = county.phone(username, transport)
    phone.sync()
    kept = phone.record_visit(county.households[username][0], notes="撤销前记下的")
    with county.session() as session, session.begin():
        revoke_device(session, SYSTEM, session.get(Device, uuid.UUID(phone.device_id)))
    assert phone.sync_with_retry(attempts=1).revoked
    phone.login(username, PASSWORD, "same phone, new login")
    report = phone.sync()
    assert report.applied == 1 and not report.rejected
    with county.session() as session:
        assert session.get(Visit, uuid.UUID(kept)).notes == "撤销前记下的"


def test_a_phone_that_ran_400_days_ahead_stamps_in_the_present_once_it_learns_its_clock(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    skew = [0]

    def wall_ms() -> int:
        return time.time_ns() // 1_000_000 + skew[0]

    ahead = Phone(county.tmp / "ahead.db", transport=transport, wall_ms=wall_ms)
    ahead.login(username, PASSWORD, "ahead")
    right = county.phone(username, transport, name="right")
    ahead.sync(), right.sync()
    # Then its clock jumps 400 days ahead, and it works offline.
    skew[0] = 400 * DAY_MS
    ahead.edit_household(household_id, notes="去年的说法")
    assert ahead.sync().applied == 1
    assert "ahead: times were corrected" in str(ahead.store.outbox("done")[-1]["result"])
    # It has learnt its clock: its next stamps are in the present, even after a restart.
    ahead.close()
    ahead = Phone(county.tmp / "ahead.db", transport=transport, wall_ms=wall_ms)
    ahead.edit_household(household_id, notes="先改的")
    assert Stamp.parse(ahead.store.pending(1)[0].stamp).wall_ms < now_ms() + 60_000
    time.sleep(0.3)
    right.edit_household(household_id, notes="后改的")
    ahead_report, right_report = ahead.sync(), right.sync()
    assert "clock" not in str(ahead.store.outbox("done")[-1]["result"]["message"])
    assert ahead_report.applied == 1
    assert all(c["yours_kept"] for result in right_report.conflicts for c in result["conflicts"])
    with county.session() as session:
        household = session.get(Household, uuid.UUID(household_id))
        assert household is not None and household.notes == "后改的", "the later edit wins"
        limit = now_ms() + MAX_DRIFT_MS
        stamps = [Stamp.parse(entry["stamp"]) for entry in household.field_stamps.values()]
        stamps += [Stamp.parse(stamp) for stamp in session.scalars(select(Conflict.winner_stamp))]
        assert all(stamp.wall_ms <= limit for stamp in stamps)
