"""Photos saved with the record they belong to, as the app's forms save them:
the record and its photos in one transaction, or nothing at all."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from bench.samples import phone_photo
from shared.protocol import MAX_PHOTOS_PER_RECORD
from shared.vocab import IssueStatus
from sync.engine import SyncReport
from sync.phone import Phone
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County


def _synced_phone(county: County, transport: FlaskTransport) -> tuple[Phone, str]:
    """A cadre's phone with its households, and the first of them."""
    cadre = county.cadres[0]
    phone = county.phone(cadre, transport)
    assert phone.sync().ok
    return phone, county.households[cadre][0]


def test_a_visit_its_problem_and_a_follow_up_are_saved_with_their_photos_in_one_go(
    county: County, transport: FlaskTransport
) -> None:
    phone, household_id = _synced_phone(county, transport)
    roof, ditch, mended = phone_photo(1), phone_photo(2), phone_photo(3)
    visit_id = phone.record_visit(
        household_id,
        notes="入户",
        photos=[roof],
        issues=[{"category": "infrastructure", "description": "水渠坏了", "photos": [ditch]}],
    )
    issue_id = phone.issues(household_id)[0]["id"]
    event_id = phone.follow_up(
        issue_id, note="已修好", status=IssueStatus.SOLVED.value, photos=[mended]
    )

    assert [p["size"] for p in phone.photos("visit", visit_id)] == [len(roof)]
    assert [p["size"] for p in phone.photos("issue", issue_id)] == [len(ditch)]
    assert [p["size"] for p in phone.photos("issue_event", event_id)] == [len(mended)]
    assert phone.photos_to_send() == (3, len(roof) + len(ditch) + len(mended))
    # A visit, its issue, a follow-up, and a record for each photo.
    assert phone.pending_count() == 6

    report = SyncReport()
    phone.engine.push(report)
    assert report.applied == 6 and not report.rejected, report


def test_a_record_whose_photos_are_refused_is_not_saved_either(
    county: County, transport: FlaskTransport
) -> None:
    phone, household_id = _synced_phone(county, transport)
    too_many = [phone_photo(seed) for seed in range(MAX_PHOTOS_PER_RECORD + 1)]
    visits = len(phone.visits(household_id))

    with pytest.raises(ValueError, match="最多"):
        phone.record_visit(household_id, notes="入户", photos=too_many)
    with pytest.raises(ValueError, match="not a readable image"):
        phone.record_visit(
            household_id,
            notes="入户",
            issues=[{"category": "other", "description": "漏雨", "photos": [b"%PDF-1.4"]}],
        )
    assert len(phone.visits(household_id)) == visits
    phone.record_visit(household_id, issues=[{"category": "other", "description": "漏雨"}])
    issue_id = phone.issues(household_id)[-1]["id"]
    before = phone.pending_count()
    with pytest.raises(ValidationError):
        phone.follow_up(issue_id, note="x" * 100_000, photos=[phone_photo(1)])

    assert phone.issue_events(issue_id) == []
    assert phone.pending_count() == before
    assert phone.photos_to_send() == (0, 0)
    assert phone.store.photos_in_state("local", "to_send", "sent", "remote", "rejected") == []
