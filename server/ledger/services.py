"""Ledger services: linking households and villages, and checking the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.services import Actor, record
from server.clock import utcnow
from server.inspections.models import Inspection
from server.issues.models import Issue
from server.ledger.models import (
    Cadre,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
)
from server.ledger.queries import cadre_loads
from server.sequence import Synced
from server.visits.models import Visit
from shared.vocab import MAX_HOUSEHOLDS_PER_CADRE, LeaderRole


class LinkError(Exception):
    """A link change the ledger must refuse; the message is bilingual."""


def link_household(
    session: Session, actor: Actor, household: Household, cadre: Cadre, at: datetime | None = None
) -> HouseholdLink:
    """Make ``cadre`` the household's linked cadre, closing the previous link."""
    if not cadre.active:
        raise LinkError(
            f"干部{cadre.name}已停用，不能挂户 / {cadre.name} is disabled and cannot take households"
        )
    if household.deleted_at is not None:
        raise LinkError(f"农户{household.code}已注销 / household {household.code} has been removed")
    _same_county(session, cadre, household, f"农户{household.code}", f"household {household.code}")
    return _relink(
        session,
        actor,
        _current_link(session, household),
        HouseholdLink(household_id=household.id, cadre_id=cadre.id, started_at=at or utcnow()),
        audited_as=("household", household.id, "cadre_id"),
    )


def _same_county(session: Session, cadre: Cadre, place: Synced, zh: str, en: str) -> None:
    # What a phone receives is numbered by its county's counter: a cadre's
    # households and the villages they lead must lie in the cadre's county.
    if cadre.county_of(session) != place.county_of(session):
        raise LinkError(
            f"干部{cadre.name}不属于{zh}所在的县 / {cadre.name} belongs to another county than {en}"
        )


def set_village_leader(
    session: Session,
    actor: Actor,
    village: Village,
    role: LeaderRole,
    cadre: Cadre,
    at: datetime | None = None,
) -> VillageLink:
    """Make ``cadre`` the village's link leader for ``role``."""
    if not cadre.active:
        raise LinkError(f"干部{cadre.name}已停用 / {cadre.name} is disabled")
    _same_county(session, cadre, village, f"{village.name}", f"village {village.name}")
    current = session.scalar(
        select(VillageLink).where(
            VillageLink.village_id == village.id,
            VillageLink.role == role,
            VillageLink.ended_at.is_(None),
        )
    )
    return _relink(
        session,
        actor,
        current,
        VillageLink(village_id=village.id, role=role, cadre_id=cadre.id, started_at=at or utcnow()),
        audited_as=("village", village.id, role.value),
    )


# A household's or a village's link, as _relink takes it.
AnyLink = TypeVar("AnyLink", HouseholdLink, VillageLink)


def _relink(
    session: Session,
    actor: Actor,
    current: AnyLink | None,
    new: AnyLink,
    *,
    audited_as: tuple[str, uuid.UUID, str],
) -> AnyLink:
    """Make ``new`` the current link in place of ``current``, which it ends;
    ``current`` stays if it names the same cadre. ``audited_as`` is the audit
    entry's entity, its id and the field that changed."""
    if current is not None:
        if current.cadre_id == new.cadre_id:
            return current
        current.ended_at = new.started_at
        # The partial unique index allows one open link: close the old one first.
        session.flush()
    session.add(new)
    session.flush()
    entity, entity_id, changed = audited_as
    previous = current.cadre_id if current else None
    record(session, actor, "link", entity, entity_id, {changed: [previous, new.cadre_id]})
    return new


@dataclass
class IntegrityReport:
    """What ``minqing check`` prints: the ledger's size and what breaks its rules."""

    counts: dict[str, int]
    breaches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.breaches.values())

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts,
            **{name: len(rows) for name, rows in self.breaches.items()},
            "ok": self.ok,
        }


def check_integrity(session: Session) -> IntegrityReport:
    live = Household.deleted_at.is_(None)
    current = HouseholdLink.ended_at.is_(None)
    counts = {
        "towns": _count(session, select(Town.id)),
        "villages": _count(session, select(Village.id)),
        "grids": _count(session, select(Grid.id)),
        "households": _count(session, select(Household.id).where(live)),
        "cadres": _count(session, select(Cadre.id).where(Cadre.active)),
        "visits": _count(session, select(Visit.id)),
        "issues": _count(session, select(Issue.id)),
        "inspections": _count(session, select(Inspection.id)),
    }

    unlinked = session.execute(
        select(Household.code, Household.head_name)
        .where(
            live,
            ~select(HouseholdLink.id)
            .where(HouseholdLink.household_id == Household.id, current)
            .exists(),
        )
        .order_by(Household.code)
    ).all()

    load = cadre_loads()
    loads = session.execute(
        select(Cadre.name, Cadre.phone, func.coalesce(load.c.households, 0))
        .outerjoin(load, load.c.cadre_id == Cadre.id)
        .where(Cadre.active)
        .order_by(Cadre.phone)
    ).all()
    # Division-level leaders link villages, not households: no load expected.
    leaders = set(
        session.scalars(select(VillageLink.cadre_id).where(VillageLink.ended_at.is_(None)))
    )
    leader_phones = set(session.scalars(select(Cadre.phone).where(Cadre.id.in_(leaders))))

    dangling = session.execute(
        select(Household.code, Cadre.name, Cadre.phone)
        .join(HouseholdLink, HouseholdLink.household_id == Household.id)
        .join(Cadre, Cadre.id == HouseholdLink.cadre_id)
        .where(current, (~Cadre.active) | Household.deleted_at.is_not(None))
        .order_by(Household.code)
    ).all()

    dangling_leaders = session.execute(
        select(Village.name, VillageLink.role, Cadre.name)
        .join(VillageLink, VillageLink.village_id == Village.id)
        .join(Cadre, Cadre.id == VillageLink.cadre_id)
        .where(VillageLink.ended_at.is_(None), ~Cadre.active)
    ).all()

    led = session.execute(
        select(VillageLink.village_id, VillageLink.role).where(VillageLink.ended_at.is_(None))
    ).all()
    led_roles: dict[Any, set[str]] = {}
    for village_id, role in led:
        led_roles.setdefault(village_id, set()).add(role)
    villages = session.execute(
        select(Village.id, Town.name, Village.name).join(Town).order_by(Town.name, Village.name)
    ).all()

    report = IntegrityReport(counts=counts)
    report.breaches = {
        "households_without_cadre": [{"household": code, "head": head} for code, head in unlinked],
        "cadres_without_households": [
            {"cadre": name, "phone": phone}
            for name, phone, n in loads
            if n == 0 and phone not in leader_phones
        ],
        "cadres_over_limit": [
            {"cadre": name, "phone": phone, "households": n}
            for name, phone, n in loads
            if n > MAX_HOUSEHOLDS_PER_CADRE
        ],
        "dangling_links": [
            {"household": code, "cadre": name, "phone": phone} for code, name, phone in dangling
        ]
        + [
            {"village": village, "role": role, "cadre": name}
            for village, role, name in dangling_leaders
        ],
        "villages_missing_leaders": [
            {
                "town": town,
                "village": name,
                "missing": sorted(set(LeaderRole.codes()) - led_roles.get(village_id, set())),
            }
            for village_id, town, name in villages
            if led_roles.get(village_id, set()) != set(LeaderRole.codes())
        ],
    }
    return report


def _count(session: Session, query: Any) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def remove_household(session: Session, actor: Actor, household: Household, reason: str) -> None:
    """Remove a household (moved away, or entered by mistake) as a tombstone.

    Its record, visits and issues stay, and so does the history of who
    covered it; its current link ends, and phones drop it at their next sync.
    A phone's concurrent edit is still merged into its record but does not
    bring it back: only ``restore_household`` does.
    """
    if household.deleted_at is not None:
        return
    household.deleted_at = utcnow()
    link = _current_link(session, household)
    if link is not None:
        link.ended_at = household.deleted_at
    record(session, actor, "remove", "household", household.id, {"reason": reason})


def restore_household(session: Session, actor: Actor, household: Household) -> None:
    """Bring a removed household back, to the cadre who covered it last if still active.

    Otherwise it comes back with no cadre, and ``check_integrity`` lists it
    until someone is linked.
    """
    if household.deleted_at is None:
        return
    household.deleted_at = None
    last = session.scalar(
        select(HouseholdLink)
        .where(HouseholdLink.household_id == household.id)
        .order_by(HouseholdLink.started_at.desc())
        .limit(1)
    )
    record(session, actor, "restore", "household", household.id)
    if last is not None and _current_link(session, household) is None:
        cadre = session.get(Cadre, last.cadre_id)
        if cadre is not None and cadre.active:
            link_household(session, actor, household, cadre)


def _current_link(session: Session, household: Household) -> HouseholdLink | None:
    return session.scalar(
        select(HouseholdLink).where(
            HouseholdLink.household_id == household.id, HouseholdLink.ended_at.is_(None)
        )
    )
