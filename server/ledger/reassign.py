"""Moving households between cadres: one (reassign), or a cadre's many
(transfer); and disabling a cadre who left, once nothing is left in their care.

Every move goes through ``server.ledger.services.link_household`` (which
refuses a disabled cadre and writes the audit trail). Everything is checked
before the first move, and the caller's transaction is rolled back on any
refusal, so a refused change changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.services import Actor, record
from server.ledger.models import Cadre, Household, HouseholdLink, VillageLink
from server.ledger.services import LinkError, link_household

STALE = (
    "这些农户的挂户干部刚被他人改过，请刷新页面后重试"
    " / these households' cadre has just been changed by someone else: reload the page and try again"
)


def current_cadre_id(session: Session, household: Household) -> uuid.UUID | None:
    return session.scalar(
        select(HouseholdLink.cadre_id).where(
            HouseholdLink.household_id == household.id, HouseholdLink.ended_at.is_(None)
        )
    )


def reassign(
    session: Session, actor: Actor, household: Household, cadre: Cadre, seen: uuid.UUID | None
) -> bool:
    """Give one household to ``cadre``; ``seen`` is the cadre the admin saw it with.

    False when ``cadre`` already has it: nothing changes.
    """
    current = current_cadre_id(session, household)
    if current != seen:
        raise LinkError(STALE)
    if current == cadre.id:
        return False
    link_household(session, actor, household, cadre)
    return True


def loads(session: Session, cadres: Sequence[Cadre]) -> dict[uuid.UUID, int]:
    """How many live households each cadre covers now."""
    counted = dict(
        session.execute(
            select(HouseholdLink.cadre_id, func.count())
            .join(Household, Household.id == HouseholdLink.household_id)
            .where(
                HouseholdLink.ended_at.is_(None),
                Household.deleted_at.is_(None),
                HouseholdLink.cadre_id.in_([cadre.id for cadre in cadres]),
            )
            .group_by(HouseholdLink.cadre_id)
        ).all()
    )
    return {cadre.id: counted.get(cadre.id, 0) for cadre in cadres}


def shares(current: dict[uuid.UUID, int], count: int) -> dict[uuid.UUID, int]:
    """How many of ``count`` households each cadre takes so loads end as even as they can."""
    taken = dict.fromkeys(current, 0)
    for _ in range(count):
        # The lightest cadre takes the next; ties go to the one chosen first.
        lightest = min(current, key=lambda cadre_id: current[cadre_id] + taken[cadre_id])
        taken[lightest] += 1
    return taken


def transfer(
    session: Session,
    actor: Actor,
    source: Cadre,
    households: Sequence[Household],
    targets: Sequence[Cadre],
) -> dict[uuid.UUID, int]:
    """Share ``households`` (all now ``source``'s) among ``targets``; how many each took.

    Each target takes a run of households in code order, so a cadre's
    households stay neighbours (就近方便入户).
    """
    if not households:
        raise LinkError("请选择要移交的农户 / choose the households to hand over")
    if not targets:
        raise LinkError(
            "请选择接手的干部，农户不能没有挂户干部"
            " / choose the cadres who take them over: no household may be left without a cadre"
        )
    if any(target.id == source.id for target in targets):
        raise LinkError("不能移交给本人 / a cadre cannot hand households to themselves")
    for target in targets:
        if not target.active:
            raise LinkError(
                f"干部{target.name}已停用，不能挂户 / {target.name} is disabled and cannot take households"
            )
    if any(current_cadre_id(session, household) != source.id for household in households):
        raise LinkError(STALE)
    taken = shares(loads(session, targets), len(households))
    ordered = iter(sorted(households, key=lambda household: household.code))
    for target in targets:
        for _ in range(taken[target.id]):
            link_household(session, actor, next(ordered), target)
    return taken


def set_cadre_active(session: Session, actor: Actor, cadre: Cadre, active: bool) -> None:
    """Disable a cadre who left (or enable one who came back).

    Refused while the cadre still covers households or leads a village: they
    would be left without an active cadre.
    """
    if not active:
        if loads(session, [cadre])[cadre.id]:
            raise LinkError(
                f"{cadre.name}仍有挂钩农户，请先移交 / {cadre.name} still covers households: hand them over first"
            )
        leading = session.scalar(
            select(func.count()).where(
                VillageLink.cadre_id == cadre.id, VillageLink.ended_at.is_(None)
            )
        )
        if leading:
            raise LinkError(
                f"{cadre.name}仍是村挂钩领导，请先更换 / {cadre.name} still leads a village: replace them first"
            )
    if cadre.active != active:
        cadre.active = active
        record(session, actor, "enable" if active else "disable", "cadre", cadre.id)
