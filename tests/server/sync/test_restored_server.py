"""A phone meeting a server restored to an earlier point than it has seen.

The restored server says so with a new epoch (``minqing db restore`` or
``db restored`` renews it) or, when nobody told it, by finding the phone's
cursor ahead of everything it has. Either way the phone sends every change
it made again and pulls from the start; receipts make what the server
already has a no-op. tests/server/ops/test_backup_restore.py does it for real.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import transaction
from server.ledger.models import County as CountyRecord
from server.sequence import committed_high_water
from server.sync.epoch import renew_epoch
from server.visits.models import Visit
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County


def visits_on_server(county: County) -> int:
    with county.session() as session:
        return session.scalar(select(func.count()).select_from(Visit)) or 0


def test_a_phone_whose_cursor_is_ahead_of_the_server_resends_its_changes_and_pulls_from_the_start(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = county.phone(username, transport)
    household = county.households[username][0]
    phone.sync()
    phone.record_visit(household)
    phone.record_visit(household)
    assert phone.sync().applied == 2
    with county.session() as session:
        high_water = high_water_of_the_county(session)
    # What a phone holds after a restore nobody marked: a cursor from a lost future.
    phone.store.set_meta({"cursor": str(high_water + 500)})

    report = phone.sync()

    assert report.ok and report.resent == 2 and report.already_applied == 2
    assert phone.store.get_meta("cursor") == str(high_water)
    assert visits_on_server(county) == 2
    assert len(phone.visits(household)) == 2
    assert phone.sync().resent == 0, "once caught up, a sync is an ordinary one"


def test_a_phone_resends_and_pulls_again_when_the_server_starts_a_new_epoch_even_if_its_cursor_is_behind(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    phone = county.phone(first, transport)
    other = county.phone(second, transport)
    phone.sync()
    other.sync()
    phone.record_visit(county.households[first][0])
    assert phone.sync().applied == 1
    cursor = int(phone.store.get_meta("cursor") or 0)
    with transaction(county.app.extensions["minqing.db"]) as session:
        renew_epoch(session)
    # Others push to the restored server, its counter passes the phone's cursor.
    for _ in range(3):
        other.record_visit(county.households[second][0])
    other.sync()
    with county.session() as session:
        assert high_water_of_the_county(session) > cursor

    phone.edit_household(county.households[first][1], notes="恢复后")
    report = phone.sync()

    # The edit is applied; then the new epoch: it and the visit go again.
    assert report.ok and report.resent == 2
    assert (report.applied, report.already_applied) == (1, 2)
    assert visits_on_server(county) == 4
    assert phone.household(county.households[first][1])["notes"] == "恢复后"
    assert phone.sync().resent == 0


def high_water_of_the_county(session: Session) -> int:
    return committed_high_water(session, session.scalars(select(CountyRecord.id)).one())
