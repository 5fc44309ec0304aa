"""A pulled record's JSON is the same whichever backend writes it.

On PostgreSQL the database writes it (records.wire_json); on SQLite, Python
(records.to_wire). A record of every kind, with the awkward values — times
with and without microseconds, in another time zone, empty ones, money,
lists, Chinese text — must come out of ``wire_rows`` exactly as ``to_wire``
makes it from the same row.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.db import Base
from server.inspections.models import Inspection
from server.issues.models import Issue, IssueEvent
from server.ledger.models import County, Household, HouseholdLink, VillageLink
from server.photos.models import Photo
from server.sync.records import KIND_OF, WIRE_FIELDS, Records, columns, to_wire, wire_rows
from server.visits.models import Visit
from shared import protocol
from shared.vocab import (
    AccountRole,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
    LeaderRole,
    ProblemSolved,
    Satisfaction,
    VisitKind,
)
from tests.builders import LedgerBuilder

BEIJING = timezone(timedelta(hours=8))
# A whole second, and a moment with microseconds given in Beijing time.
WHOLE = datetime(2026, 5, 27, 8, 36, tzinfo=UTC)
PRECISE = datetime(2026, 5, 27, 16, 36, 5, 120300, tzinfo=BEIJING)


def _one_of_each(session: Session) -> dict[type[Base], Any]:
    build = LedgerBuilder(session)
    household = build.household(
        phones=["13912345678"], tags=["poor", "elderly_alone"], notes="门前有狗"
    )
    grid = household.grid
    cadre = build.cadre()
    inspector = Account(
        id=uuid.uuid4(),
        username=f"inspector-{uuid.uuid4().hex[:8]}",
        password_hash="x",
        role=AccountRole.INSPECTOR,
    )
    county = session.scalars(select(County)).first()
    visit = Visit(
        id=uuid.uuid4(),
        cadre_id=cadre.id,
        household_id=household.id,
        visited_at=PRECISE,
        kind=VisitKind.HOME_VISIT,
        roles=["policy"],
        topics=["医保政策", "危房改造"],
        notes="入户走访",
        latitude=23.7012345,
        longitude=117.4231,
        stamp="01a218f0b8200000@phone",
    )
    issue = Issue(
        id=uuid.uuid4(),
        village_id=grid.village_id,
        household_id=household.id,
        visit_id=visit.id,
        raised_by_cadre_id=cadre.id,
        raised_at=WHOLE,
        category=IssueCategory.MEDICAL,
        description="屋顶漏雨",
        status=IssueStatus.IN_PROGRESS,
        aid_amount=Decimal("1500.50"),
        deleted_at=PRECISE,
    )
    event = IssueEvent(
        id=uuid.uuid4(),
        issue_id=issue.id,
        at=PRECISE,
        kind=IssueEventKind.STATUS,
        status=IssueStatus.IN_PROGRESS,
        base_status=IssueStatus.OPEN,
        cadre_id=cadre.id,
    )
    inspection = Inspection(
        id=uuid.uuid4(),
        inspector_id=inspector.id,
        household_id=household.id,
        inspected_on=date(2026, 5, 28),
        knows_cadre=True,
        last_visit_reported=None,
        problem_solved=ProblemSolved.PARTLY,
        satisfaction=Satisfaction.SATISFIED,
    )
    village_link = VillageLink(
        village_id=grid.village_id, role=LeaderRole.COUNTY, cadre_id=cadre.id, started_at=WHOLE
    )
    household_link = HouseholdLink(
        household_id=household.id, cadre_id=cadre.id, started_at=WHOLE, ended_at=PRECISE
    )
    photo = Photo(
        id=uuid.uuid4(),
        household_id=household.id,
        record_kind="visit",
        record_id=visit.id,
        sha256="0" * 64,
        size=152_000,
        width=1280,
        height=960,
        content_type="image/jpeg",
        cadre_id=cadre.id,
        recorded_at=PRECISE,
        stamp="01a218f0b8200000@phone",
    )
    # Parents first: no relationship tells the unit of work the order.
    for parents in (
        [inspector, visit],
        [issue],
        [event, inspection, village_link, household_link, photo],
    ):
        session.add_all(parents)
        session.flush()
    return {
        model: record
        for model, record in [
            (County, county),
            (type(grid.village.town), grid.village.town),
            (type(grid.village), grid.village),
            (type(grid), grid),
            (type(cadre.unit), cadre.unit),
            (type(cadre), cadre),
            (VillageLink, village_link),
            (HouseholdLink, household_link),
            (type(household), household),
            (Visit, visit),
            (Issue, issue),
            (IssueEvent, event),
            (Inspection, inspection),
            (Photo, photo),
        ]
        if record is not None
    }


@pytest.mark.parametrize("as_text", [False, True], ids=["data", "as text"])
def test_every_kind_of_record_goes_out_as_to_wire_writes_it(
    session: Session, as_text: bool
) -> None:
    records = _one_of_each(session)
    assert set(records) >= set(WIRE_FIELDS) - {County}
    connection = session.connection()
    for model, record in records.items():
        where = model.id == record.id  # type: ignore[attr-defined]
        row = connection.execute(select(*columns(model)).where(where)).one()
        ((seq, text),) = wire_rows(connection, [Records(model, where)], as_text=as_text)
        assert seq == row.seq
        expected = to_wire(model, row, as_text)
        assert _read(json.loads(text)) == _read(expected), model.__name__


def test_a_record_as_text_holds_its_data_with_the_fields_a_phone_reads_beside_it(
    session: Session,
) -> None:
    connection = session.connection()
    for model, record in _one_of_each(session).items():
        row = connection.execute(select(*columns(model)).where(model.id == record.id)).one()  # type: ignore[attr-defined]
        plain, as_text = to_wire(model, row), to_wire(model, row, as_text=True)
        assert "data" not in as_text and json.loads(as_text["text"]) == plain["data"]
        beside = {key: as_text[key] for key in protocol.FIELDS_BESIDE_TEXT if key in as_text}
        assert beside == {
            key: plain["data"][key] for key in protocol.FIELDS_BESIDE_TEXT if key in plain["data"]
        }, model.__name__
    assert set(protocol.FIELDS_BESIDE_TEXT) <= set(WIRE_FIELDS[Visit])


def _read(wire: dict[str, Any]) -> dict[str, Any]:
    """A wire record with its text read: PostgreSQL spaces its JSON as Python does not."""
    return {**wire, "text": json.loads(wire["text"])} if "text" in wire else wire


def test_every_kind_of_pulled_record_passes_its_schema_once_the_servers_fields_are_set_aside(
    session: Session,
) -> None:
    """What a phone receives is what shared/protocol.py says a record is:
    its schema's fields (a null where the schema fills in a default stands
    for that default), and the server's own."""
    for model, record in _one_of_each(session).items():
        kind = KIND_OF[model]
        if kind == "county":
            continue  # no phone writes one: no schema
        row = session.connection().execute(select(*columns(model)).where(model.id == record.id))  # type: ignore[attr-defined]
        pulled = to_wire(model, row.one())
        data = {"id": pulled["id"], **pulled["data"]}
        server_fields = protocol.SERVER_FIELDS.get(kind, ())
        schema = protocol.RECORD_SCHEMAS[kind]()
        assert set(data) == set(schema.fields) | set(server_fields), kind
        given = {
            name: value
            for name, value in data.items()
            if name not in server_fields and value is not None
        }
        assert schema.validate(given) == {}, (kind, given)


def test_times_go_out_in_utc_with_microseconds_only_when_there_are_some(
    session: Session,
) -> None:
    records = _one_of_each(session)
    connection = session.connection()
    for model, name, expected in [
        (Visit, "visited_at", "2026-05-27T08:36:05.120300+00:00"),
        (Issue, "raised_at", "2026-05-27T08:36:00+00:00"),
        (Issue, "aid_amount", "1500.50"),
        (Inspection, "last_visit_reported", None),
    ]:
        where = model.id == records[model].id  # type: ignore[attr-defined]
        ((_, text),) = wire_rows(connection, [Records(model, where)])
        assert json.loads(text)["data"][name] == expected


def test_records_chosen_household_by_household_are_the_first_in_seq_order(
    session: Session,
) -> None:
    build = LedgerBuilder(session)
    cadre = build.cadre()
    households = [build.household(), build.household(), build.household()]
    # Visits to the three households, one after another: their seqs interleave.
    for number in range(9):
        session.add(
            Visit(
                id=uuid.uuid4(),
                cadre_id=cadre.id,
                household_id=households[number % 3].id,
                visited_at=WHOLE + timedelta(minutes=number),
                kind=VisitKind.HOME_VISIT,
            )
        )
        session.flush()
    ids = [household.id for household in households[:2]]
    connection = session.connection()
    everything = wire_rows(connection, [Records(Visit, Visit.household_id.in_(ids))])
    assert len(everything) == 6
    each = Records(Visit, Visit.seq > bindparam("since"), each=(Visit.household_id, "ids"))
    for limit in (1, 4, 10):
        chosen = wire_rows(connection, [each], {"ids": ids, "since": 0}, limit)
        assert chosen == everything[:limit]
    assert wire_rows(connection, [each], {"ids": [], "since": 0}, 4) == []


def test_records_of_several_tables_come_table_after_table_each_limited_on_its_own(
    session: Session,
) -> None:
    build = LedgerBuilder(session)
    cadre = build.cadre()
    household = build.household()
    for number in range(3):
        session.add(
            Visit(
                id=uuid.uuid4(),
                cadre_id=cadre.id,
                household_id=household.id,
                visited_at=WHOLE + timedelta(minutes=number),
                kind=VisitKind.HOME_VISIT,
            )
        )
        session.flush()
    visits = Records(Visit, Visit.household_id == household.id)
    households = Records(Household, Household.id == household.id)
    connection = session.connection()
    every_visit = wire_rows(connection, [visits])
    assert [seq for seq, _ in every_visit] == sorted(seq for seq, _ in every_visit)
    (the_household,) = wire_rows(connection, [households])
    assert wire_rows(connection, [households, visits]) == [the_household, *every_visit]
    assert wire_rows(connection, [visits, households], limit=2) == [*every_visit[:2], the_household]
