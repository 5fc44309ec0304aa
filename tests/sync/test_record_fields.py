"""Each kind of record has one description of its fields, shared/protocol.py's
schema: what a phone writes and pushes, what the server reads from a push and
writes to its tables, and what a phone pulls all keep to it."""

from __future__ import annotations

from typing import Any

from bench.samples import phone_photo
from server.issues.models import Issue
from server.issues.status import FOLDED
from server.ledger.models import Household
from server.sync.batch import CHANGED, REFERENCES
from server.sync.push import NEW_RECORD_SCHEMAS
from server.sync.records import MODEL_OF, WIRE_FIELDS
from server.visits.models import Visit
from shared import protocol
from shared.schemas import HouseholdSchema, IssueSchema
from sync.engine import BOOKKEEPING
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS
from tests.sync.test_inspector_sync import ANSWERS, _inspector
from tests.sync.transport import FlaskTransport
from tests.sync.world import County


def _fields(kind: str) -> set[str]:
    return set(protocol.RECORD_SCHEMAS[kind]._declared_fields)


def _columns(model: Any) -> set[str]:
    return set(model.__table__.columns.keys())


def test_a_new_record_a_phone_pushes_is_loaded_with_its_kinds_schema() -> None:
    assert set(NEW_RECORD_SCHEMAS) == set(protocol.CHANGE_KINDS) - {"household"}
    for kind, loader in NEW_RECORD_SCHEMAS.items():
        assert type(loader.schema) is protocol.RECORD_SCHEMAS[kind], kind


def test_every_field_of_a_pushed_record_is_a_column_of_the_table_it_is_written_to() -> None:
    for (kind, _op), model in CHANGED.items():
        assert model is MODEL_OF[kind], kind
        assert _fields(kind) <= _columns(model), kind


def test_every_field_of_every_kind_a_phone_pulls_is_a_column_of_its_table() -> None:
    assert set(protocol.RECORD_SCHEMAS) | {"county"} == set(MODEL_OF)
    for kind, model in MODEL_OF.items():
        assert set(WIRE_FIELDS[model]) <= _columns(model), kind
        if kind != "county":
            assert set(WIRE_FIELDS[model]) == _fields(kind) - {"id"} | set(
                protocol.SERVER_FIELDS.get(kind, ())
            ), kind


def test_every_pushed_field_naming_a_household_visit_or_problem_is_read_before_the_batch() -> None:
    """A push reads what its changes name in a query per table (Batch.prefetch);
    a field missed here would cost a query for each change naming it."""
    looked_up = {model.__table__.name: model for model in (Household, Visit, Issue)}
    naming = {}
    for kind in NEW_RECORD_SCHEMAS:
        model = MODEL_OF[kind]
        for name in _fields(kind) - {"id"}:
            for key in model.__table__.columns[name].foreign_keys:
                if key.column.table.name in looked_up:
                    naming[name] = looked_up[key.column.table.name]
    assert naming == REFERENCES


def test_what_a_phone_may_edit_and_the_fold_moves_are_fields_of_their_schemas() -> None:
    household_fields = set(HouseholdSchema._declared_fields) & _columns(Household)
    assert EDITABLE_HOUSEHOLD_FIELDS.issubset(household_fields)
    assert set(FOLDED) <= set(IssueSchema._declared_fields) & _columns(Issue)


def test_what_a_phone_sets_aside_as_bookkeeping_is_the_id_and_what_the_server_adds() -> None:
    added = {name for names in protocol.SERVER_FIELDS.values() for name in names}
    assert BOOKKEEPING.issubset({"id"} | added)


def _created(phone: Any) -> dict[str, dict[str, Any]]:
    """The record of each kind the phone has pushed a create of."""
    return {
        entry["kind"]: entry["record"]
        for entry in phone.store.outbox("done")
        if entry["op"] == "create"
    }


def test_what_phones_push_and_pull_of_every_kind_is_their_schemas_fields(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    household_id = county.households[first][0]
    phone = county.phone(first, transport)
    assert phone.sync().ok
    visit_id = phone.record_visit(
        household_id,
        roles=["policy"],
        topics=["医保政策"],
        notes="入户走访",
        location=(23.7, 117.4),
        problems=[{"category": "medical", "description": "屋顶漏雨", "aid_amount": "1500.50"}],
    )
    (issue,) = phone.issues(household_id)
    phone.follow_up(issue["id"], status="in_progress")
    phone.attach_photo("visit", visit_id, phone_photo())
    phone.edit_household(household_id, notes="门前有狗")
    assigned = county.households[second][:2]
    inspector = county.phone(_inspector(county, assigned), transport)
    assert inspector.sync().ok
    inspector.record_inspection(assigned[0], **ANSWERS)
    for one in (phone, inspector):
        report = one.sync()
        assert report.ok and not report.rejected, report

    pushed = _created(phone) | _created(inspector)
    assert set(pushed) == set(NEW_RECORD_SCHEMAS)
    for kind, record in pushed.items():
        # An inspection carries the answers given (its schema defaults the
        # rest); every other record, all its fields.
        assert set(record) <= _fields(kind), kind
        assert kind == "inspection" or set(record) == _fields(kind), kind
    (edit,) = [e for e in phone.store.outbox("done") if e["op"] == "update"]
    assert set(edit["record"]) - {"id"} <= EDITABLE_HOUSEHOLD_FIELDS

    assert phone.store.record("visit", visit_id) is not None
    for one in (phone, inspector):
        for kind, model in MODEL_OF.items():
            for record in one.store.records(kind):
                assert set(record) == {"id", "seq", *WIRE_FIELDS[model]}, kind
    pulled = {kind for one in (phone, inspector) for kind in MODEL_OF if one.store.records(kind)}
    # A checked household leaves the inspector's phone with its inspection.
    assert pulled == set(MODEL_OF) - {"village_link", "inspection"}
