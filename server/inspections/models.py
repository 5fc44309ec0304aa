"""Spot checks by the efficiency and work-style offices (效能办/作风办督查)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utcnow
from server.db import Base, enum_column, new_id
from server.indexes import partial_index
from server.ledger.models import Household
from server.sequence import InCounty
from shared.vocab import ProblemSolved, Satisfaction


class Inspection(InCounty, Base):
    __tablename__ = "inspection"
    COUNTY_FROM = "household_id"
    __table_args__ = (
        Index("ix_inspection_household_date", "household_id", "inspected_on"),
        Index("ix_inspection_household_seq", "household_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"))
    inspected_on: Mapped[date]
    knows_cadre: Mapped[bool]
    # When the household says its cadre last came; empty if it cannot say.
    last_visit_reported: Mapped[date | None]
    problem_solved: Mapped[ProblemSolved] = mapped_column(
        enum_column(ProblemSolved, "problem_solved")
    )
    satisfaction: Mapped[Satisfaction] = mapped_column(enum_column(Satisfaction, "satisfaction"))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The recording device's clock stamp, and the device (empty if entered on the server).
    stamp: Mapped[str | None] = mapped_column(String(80))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    # Entered by mistake: kept as a tombstone so every phone removes it too.
    deleted_at: Mapped[datetime | None]

    household: Mapped[Household] = relationship()


class InspectionAssignment(Base):
    """A household an inspector is to check: drawn at random in the console and
    on the inspector's phone until they have checked it or it is withdrawn."""

    __tablename__ = "inspection_assignment"
    __table_args__ = (
        # A household is assigned to an inspector once at a time.
        partial_index(
            "uq_inspection_assignment_open",
            "inspector_id",
            "household_id",
            where="checked_at IS NULL AND withdrawn_at IS NULL",
            unique=True,
        ),
        # Every assignment of an inspector's household, closed ones too (checks
        # recorded offline before it closed are still accepted).
        Index("ix_inspection_assignment_inspector", "inspector_id", "household_id"),
        CheckConstraint("checked_at IS NULL OR withdrawn_at IS NULL", name="checked_or_withdrawn"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"))
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"))
    assigned_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The draw number of the sample it came from: the list can be drawn again.
    draw: Mapped[int]
    # Open while both are empty.
    checked_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    household: Mapped[Household] = relationship()
