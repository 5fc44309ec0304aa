"""Visits: the pages of a cadre's notebook (民情记录本)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utcnow
from server.db import Base, enum_column
from server.ledger.models import Cadre, Household
from server.sequence import InCounty
from shared.vocab import VisitKind


class Visit(InCounty, Base):
    """One contact between a cadre and a household.

    Visits are append-only: a correction is a new visit that ``amends`` the
    old one, so what a cadre wrote in the field is never overwritten.
    """

    __tablename__ = "visit"
    COUNTY_FROM = "household_id"
    __table_args__ = (
        # Only live visits: the console's coverage reads each household's and
        # cadre's latest visit straight from these (max per group, no table reads).
        Index(
            "ix_visit_household_live_time",
            "household_id",
            "visited_at",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_visit_cadre_live_time",
            "cadre_id",
            "visited_at",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_visit_household_seq", "household_id", "seq"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="location_complete"),
    )

    # Generated on the phone, so a visit has its identity before it is synced.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cadre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cadre.id"))
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"))
    visited_at: Mapped[datetime]
    kind: Mapped[VisitKind] = mapped_column(enum_column(VisitKind, "visit_kind"))
    roles: Mapped[list[str]] = mapped_column(default=list)
    topics: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    amends_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The recording device's clock stamp, and the device (empty if entered on the server).
    stamp: Mapped[str | None] = mapped_column(String(80))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    # Entered by mistake: kept as a tombstone so every phone removes it too.
    deleted_at: Mapped[datetime | None]

    cadre: Mapped[Cadre] = relationship()
    household: Mapped[Household] = relationship()
