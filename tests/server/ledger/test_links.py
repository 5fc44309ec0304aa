"""Links: one current cadre per household, with the history of who covered it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import SYSTEM
from server.ledger.models import HouseholdLink, VillageLink
from server.ledger.services import LinkError, link_household, set_village_leader
from shared.vocab import LeaderRole, Rank
from tests.builders import LedgerBuilder


def test_reassigning_a_household_closes_the_old_link_and_keeps_it_as_history(
    session: Session,
) -> None:
    ledger = LedgerBuilder(session)
    household = ledger.household()
    first, second = ledger.cadre("陈志明"), ledger.cadre("黄丽华")
    link_household(session, SYSTEM, household, first)
    link_household(session, SYSTEM, household, second)

    links = session.scalars(
        select(HouseholdLink)
        .where(HouseholdLink.household_id == household.id)
        .order_by(HouseholdLink.started_at)
    ).all()
    assert [link.cadre_id for link in links] == [first.id, second.id]
    assert links[0].ended_at is not None and links[1].ended_at is None
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == household.id, AuditEntry.action == "link")
    ).all()
    assert len(audit) == 2


def test_linking_to_the_current_cadre_again_changes_nothing(session: Session) -> None:
    ledger = LedgerBuilder(session)
    household, cadre = ledger.household(), ledger.cadre()
    assert link_household(session, SYSTEM, household, cadre) is link_household(
        session, SYSTEM, household, cadre
    )


def test_the_database_itself_refuses_two_current_cadres_for_one_household(
    session: Session,
) -> None:
    ledger = LedgerBuilder(session)
    household = ledger.household()
    session.add(HouseholdLink(household_id=household.id, cadre_id=ledger.cadre().id))
    session.add(HouseholdLink(household_id=household.id, cadre_id=ledger.cadre("黄丽华").id))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_cadre_cannot_be_given_a_household_or_lead_a_village_of_another_county(
    session: Session,
) -> None:
    household = LedgerBuilder(session).household()
    other = LedgerBuilder(session, "西山县").cadre()
    with pytest.raises(LinkError, match="another county"):
        link_household(session, SYSTEM, household, other)
    with pytest.raises(LinkError, match="another county"):
        set_village_leader(
            session, SYSTEM, LedgerBuilder(session).village(), LeaderRole.TOWN, other
        )


def test_a_disabled_cadre_cannot_be_given_households(session: Session) -> None:
    ledger = LedgerBuilder(session)
    cadre = ledger.cadre()
    cadre.active = False
    with pytest.raises(LinkError, match="停用"):
        link_household(session, SYSTEM, ledger.household(), cadre)


def test_each_village_has_one_current_leader_per_role(session: Session) -> None:
    ledger = LedgerBuilder(session)
    village = ledger.village()
    leader = ledger.cadre("沈建国", rank=Rank.DIVISION_LEADER)
    successor = ledger.cadre("吴海燕", rank=Rank.DIVISION_LEADER)
    set_village_leader(session, SYSTEM, village, LeaderRole.COUNTY, leader)
    set_village_leader(session, SYSTEM, village, LeaderRole.COUNTY, successor)
    current = session.scalars(
        select(VillageLink.cadre_id).where(
            VillageLink.village_id == village.id, VillageLink.ended_at.is_(None)
        )
    ).all()
    assert current == [successor.id]
    session.add(VillageLink(village_id=village.id, role=LeaderRole.COUNTY, cadre_id=leader.id))
    with pytest.raises(IntegrityError):
        session.flush()
