"""Issues raised by households or villages (群众反映的问题) and how each moved."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utcnow
from server.db import Base, enum_column, new_id
from server.ledger.models import Cadre, Household, Village
from server.sequence import InCounty
from shared.vocab import DepartmentKind, IssueCategory, IssueEventKind, IssueStatus


class Issue(InCounty, Base):
    """An issue. ``household_id`` is empty when it concerns a whole village."""

    __tablename__ = "issue"
    COUNTY_FROM = "village_id"
    __table_args__ = (
        Index("ix_issue_village_status", "village_id", "status"),
        Index("ix_issue_household_seq", "household_id", "seq"),
        Index("ix_issue_village_seq", "village_id", "seq"),
        CheckConstraint("aid_amount IS NULL OR aid_amount >= 0", name="aid_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("household.id"), index=True)
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"), index=True)
    raised_by_cadre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cadre.id"))
    raised_at: Mapped[datetime]
    category: Mapped[IssueCategory] = mapped_column(enum_column(IssueCategory, "issue_category"))
    description: Mapped[str] = mapped_column(Text)
    # The current status and department; ``IssueEvent`` rows hold the history.
    status: Mapped[IssueStatus] = mapped_column(enum_column(IssueStatus, "issue_status"))
    department: Mapped[str] = mapped_column(String(100), default="")
    # Aid in yuan (e.g. a 6,000 yuan student loan), where there is any.
    aid_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # The same issue raised for several households (one ditch, three cadres):
    # each keeps its own, linked under one. Server-side only, not on the wire.
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("issue.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    stamp: Mapped[str | None] = mapped_column(String(80))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    deleted_at: Mapped[datetime | None]

    village: Mapped[Village] = relationship()
    household: Mapped[Household | None] = relationship()
    raised_by: Mapped[Cadre] = relationship()
    events: Mapped[list[IssueEvent]] = relationship(
        back_populates="issue", order_by="IssueEvent.at"
    )


class IssueEvent(InCounty, Base):
    """One step in an issue's timeline (an issue event): a status event or a note."""

    __tablename__ = "issue_event"
    COUNTY_FROM = "issue_id"
    __table_args__ = (
        Index("ix_issue_event_issue_time", "issue_id", "at"),
        Index("ix_issue_event_issue_seq", "issue_id", "seq"),
        CheckConstraint("(kind = 'status') = (status IS NOT NULL)", name="status_iff_status_event"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    issue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issue.id"))
    at: Mapped[datetime]
    kind: Mapped[IssueEventKind] = mapped_column(enum_column(IssueEventKind, "issue_event_kind"))
    status: Mapped[IssueStatus | None] = mapped_column(
        enum_column(IssueStatus, "issue_event_status")
    )
    department: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Who wrote it: a cadre from the phone, or an admin account in the console.
    cadre_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cadre.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The status its author saw: only a change made on the current status
    # may move an issue backwards (sync/merge.py fold_status).
    base_status: Mapped[IssueStatus | None] = mapped_column(
        enum_column(IssueStatus, "issue_event_base_status")
    )
    stamp: Mapped[str | None] = mapped_column(String(80))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    # A passing's deadline (时限), set by the server for console and phone passings
    # alike. Server-side only: phones do not carry it.
    due_at: Mapped[datetime | None]

    issue: Mapped[Issue] = relationship(back_populates="events")


class Department(Base):
    """A department issues are passed to (有关部门), from the county's managed list.

    Issues and their events name the department by ``name`` (that is what
    phones show and fold), so the name of a department that has issues
    cannot change.
    """

    __tablename__ = "department"
    __table_args__ = (Index("uq_department_county_name", "county_id", "name", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("county.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[DepartmentKind] = mapped_column(enum_column(DepartmentKind, "department_kind"))
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deadline(Base):
    """A county's time limit (时限) for a department to solve an issue of a category."""

    __tablename__ = "deadline"
    __table_args__ = (CheckConstraint("days > 0", name="days_positive"),)

    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("county.id"), primary_key=True)
    category: Mapped[IssueCategory] = mapped_column(
        enum_column(IssueCategory, "deadline_category"), primary_key=True
    )
    days: Mapped[int]
