"""``check_integrity`` finds every break of the ledger's rules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.audit.services import SYSTEM
from server.clock import utcnow
from server.ledger.services import check_integrity, link_household, set_village_leader
from shared.vocab import LeaderRole, Rank
from tests.builders import LedgerBuilder


def fully_led(session: Session, ledger: LedgerBuilder) -> None:
    village = ledger.village()
    for role in LeaderRole:
        set_village_leader(
            session,
            SYSTEM,
            village,
            role,
            ledger.cadre(f"领导{role.value}", rank=Rank.DIVISION_LEADER),
        )
    grid = ledger.grid(village)
    cadre = ledger.cadre()
    for _ in range(20):
        link_household(session, SYSTEM, ledger.household(grid), cadre)


def test_a_complete_ledger_breaks_no_rule(session: Session) -> None:
    ledger = LedgerBuilder(session)
    fully_led(session, ledger)
    report = check_integrity(session)
    assert report.ok
    assert report.counts["households"] == 20
    assert report.counts["villages"] == 1


def test_a_household_with_no_cadre_is_reported(session: Session) -> None:
    ledger = LedgerBuilder(session)
    fully_led(session, ledger)
    orphan = ledger.household(head_name="许阿婆")
    report = check_integrity(session)
    assert report.breaches["households_without_cadre"] == [
        {"household": orphan.code, "head": "许阿婆"}
    ]
    assert report.as_json()["households_without_cadre"] == 1
    assert report.as_json()["ok"] is False


def test_cadres_with_no_households_or_more_than_thirty_are_reported(session: Session) -> None:
    ledger = LedgerBuilder(session)
    fully_led(session, ledger)
    idle = ledger.cadre("蔡闲")
    busy = ledger.cadre("郑忙")
    grid = ledger.grid()
    for _ in range(31):
        link_household(session, SYSTEM, ledger.household(grid), busy)
    breaches = check_integrity(session).breaches
    assert [row["phone"] for row in breaches["cadres_without_households"]] == [idle.phone]
    assert breaches["cadres_over_limit"] == [
        {"cadre": "郑忙", "phone": busy.phone, "households": 31}
    ]


def test_links_to_a_disabled_cadre_or_a_removed_household_are_dangling(session: Session) -> None:
    ledger = LedgerBuilder(session)
    fully_led(session, ledger)
    grid = ledger.grid()
    cadre = ledger.cadre("沈离")
    households = [ledger.household(grid) for _ in range(2)]
    for household in households:
        link_household(session, SYSTEM, household, cadre)
    households[0].deleted_at = utcnow()
    cadre.active = False
    session.flush()
    dangling = check_integrity(session).breaches["dangling_links"]
    assert {row["household"] for row in dangling} == {h.code for h in households}


def test_a_village_missing_a_link_leader_is_reported(session: Session) -> None:
    ledger = LedgerBuilder(session)
    village = ledger.village("后马村", ledger.town("樟塘镇"))
    set_village_leader(
        session, SYSTEM, village, LeaderRole.TOWN, ledger.cadre(rank=Rank.TOWN_CADRE)
    )
    missing = check_integrity(session).breaches["villages_missing_leaders"]
    assert missing == [{"town": "樟塘镇", "village": "后马村", "missing": ["county", "department"]}]
