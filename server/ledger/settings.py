"""The county's rule for its phones: minutes in the background before the PIN.

A phone follows its own county's (the county its account's pulls are
numbered in); a county that never chose has the server's default
(MINQING_PHONE_LOCK_MINUTES). Phones learn it at login and with every pull,
so a change reaches phones already logged in at their next sync. The
console's settings page keeps the first county's by name, as its
departments page does.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.services import Actor, record
from server.ledger.models import County

MIN_LOCK_MINUTES = 1
# Longer, and a phone left on a desk stays open for most of a meeting.
MAX_LOCK_MINUTES = 60
REFUSED = (
    f"锁屏时间须为 {MIN_LOCK_MINUTES} 到 {MAX_LOCK_MINUTES} 之间的整数（分钟）"
    f" / the lock time must be a whole number of minutes from {MIN_LOCK_MINUTES}"
    f" to {MAX_LOCK_MINUTES}"
)


class SettingRefused(Exception):
    """A value the county may not choose; the message is bilingual."""


def phone_lock_minutes(session: Session, county_id: uuid.UUID | None, default: int) -> int:
    """The minutes the phone's county chose, or ``default`` (the server's)
    until it does, or for an account of no one county."""
    chosen = (
        None
        if county_id is None
        else session.scalar(select(County.phone_lock_minutes).where(County.id == county_id))
    )
    return default if chosen is None else chosen


def lock_minutes_from(text: str) -> int:
    """The minutes typed into the console's form; raises SettingRefused."""
    try:
        minutes = int(text.strip())
    except ValueError:
        raise SettingRefused(REFUSED) from None
    if not MIN_LOCK_MINUTES <= minutes <= MAX_LOCK_MINUTES:
        raise SettingRefused(REFUSED)
    return minutes


def set_phone_lock_minutes(session: Session, actor: Actor, county: County, minutes: int) -> None:
    """Choose the county's minutes (audited); phones take them at their next sync."""
    if not MIN_LOCK_MINUTES <= minutes <= MAX_LOCK_MINUTES:
        raise SettingRefused(REFUSED)
    if minutes == county.phone_lock_minutes:
        return
    record(
        session,
        actor,
        "update",
        "county",
        county.id,
        {"phone_lock_minutes": [county.phone_lock_minutes, minutes]},
    )
    county.phone_lock_minutes = minutes
