"""The ledger (包村包户台帐): places, households, work units, cadres and links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.clock import utcnow
from server.db import Base, enum_column, new_id
from server.indexes import partial_index
from server.ledger.ordering import name_order
from server.sequence import InCounty, Synced
from shared.vocab import LeaderRole, Rank, UnitKind


class County(Synced, Base):
    __tablename__ = "county"
    __table_args__ = (
        CheckConstraint("phone_lock_minutes BETWEEN 1 AND 60", name="phone_lock_minutes_in_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The public-service numbers printed on every contact card (联系服务卡).
    service_numbers: Mapped[list[str]] = mapped_column(default=list)
    # Minutes a phone waits in the background before asking the PIN again;
    # None until the county admin chooses: the server's default then.
    phone_lock_minutes: Mapped[int | None]

    towns: Mapped[list[Town]] = relationship(back_populates="county", order_by="Town.name")

    def county_of(self, session: Session) -> uuid.UUID | None:
        if self.id is None:  # new: numbered before the flush gives it its id
            self.id = new_id()
        return self.id


class Town(Synced, Base):
    __tablename__ = "town"
    __table_args__ = (Index("uq_town_county_name", "county_id", "name", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("county.id"))
    name: Mapped[str] = mapped_column(String(64))

    county: Mapped[County] = relationship(back_populates="towns")
    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.name")


class Village(InCounty, Base):
    __tablename__ = "village"
    COUNTY_FROM = "town_id"
    __table_args__ = (Index("uq_village_town_name", "town_id", "name", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    town_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("town.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    town: Mapped[Town] = relationship(back_populates="villages")
    grids: Mapped[list[Grid]] = relationship(
        back_populates="village", order_by=lambda: name_order(Grid.name)
    )


class Grid(InCounty, Base):
    """A cell of the county's grid management system (网格化管理)."""

    __tablename__ = "grid"
    COUNTY_FROM = "village_id"
    __table_args__ = (Index("uq_grid_village_name", "village_id", "name", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    village: Mapped[Village] = relationship(back_populates="grids")


class Household(InCounty, Base):
    __tablename__ = "household"
    COUNTY_FROM = "grid_id"
    __table_args__ = (
        CheckConstraint("members >= 1", name="members_positive"),
        # The few removed households: counting the live ones' links leaves these
        # out, rather than reading every household (server.ledger.queries.live_links).
        partial_index("ix_household_removed", "id", where="deleted_at IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The code the county office writes in its ledger, e.g. 前楼村-03-0127.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grid.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(40))
    members: Mapped[int]
    address: Mapped[str] = mapped_column(String(200), default="")
    phones: Mapped[list[str]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Per editable field (and "deleted"): the clock stamp and seq of the write
    # that set it, for the field-by-field merge of sync/merge.py.
    field_stamps: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # A household that moved away or was entered by mistake is kept as a
    # tombstone, never erased: its visits and issues stay in the record.
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When its latest live visit was: what the console's coverage counts by,
    # kept here so that a county's coverage does not group millions of visits.
    # Only server.visits.services writes it.
    last_visited_at: Mapped[datetime | None]

    grid: Mapped[Grid] = relationship()

    def numbered(self, seq: int) -> None:
        # A field written in this change learns the seq of the version that
        # wrote it, which tells later writers whether they saw it.
        stamps = self.field_stamps or {}  # None on a new, unflushed household
        if any(entry.get("seq") is None for entry in stamps.values()):
            self.field_stamps = {
                name: entry if entry.get("seq") is not None else {**entry, "seq": seq}
                for name, entry in stamps.items()
            }


class WorkUnit(InCounty, Base):
    """A cadre's work unit (单位): a county bureau or a town office."""

    __tablename__ = "work_unit"
    COUNTY_FROM = "town_id"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "unit_kind"))
    # Set for a town office: the town it belongs to.
    town_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("town.id"))

    def county_of(self, session: Session) -> uuid.UUID | None:
        if self.county_id is None and self.town_id is None:
            # A county department made without its county: on a server of
            # one county (every one before counties shared one), that county.
            counties = session.scalars(select(County.id).limit(2)).all()
            if len(counties) != 1:
                raise ValueError(f"work unit {self.name}: give its county")
            self.county_id = counties[0]
        return super().county_of(session)


class Cadre(InCounty, Base):
    __tablename__ = "cadre"
    COUNTY_FROM = "unit_id"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("work_unit.id"), index=True)
    # A cadre is known by their phone: it is printed on the contact card and
    # is how the county office's spreadsheets identify them.
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    rank: Mapped[Rank] = mapped_column(enum_column(Rank, "rank"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When they last visited anyone (a live visit): the console flags idle
    # cadres by it. Only server.visits.services writes it.
    last_visited_at: Mapped[datetime | None]

    unit: Mapped[WorkUnit] = relationship()


class Link:
    """A cadre's link to a household or village, from ``started_at`` until
    ``ended_at``; the row with no ``ended_at`` is the current one."""

    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    @staticmethod
    def rules(table: str, *linked: str) -> tuple[Index, CheckConstraint]:
        """One current link per ``linked`` columns, and no link ending before it starts."""
        return (
            partial_index(f"uq_{table}_current", *linked, where="ended_at IS NULL", unique=True),
            CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        )


class HouseholdLink(Link, InCounty, Base):
    """Who covered a household when. The row with no ``ended_at`` is current."""

    __tablename__ = "household_link"
    COUNTY_FROM = "household_id"
    __table_args__ = (
        # Exactly one current cadre per household, enforced by the database.
        *Link.rules("household_link", "household_id"),
        Index("ix_household_link_cadre_current", "cadre_id", "ended_at"),
        # A household's whole link history (the partial index above has only the current).
        Index("ix_household_link_household", "household_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"))
    cadre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cadre.id"))

    household: Mapped[Household] = relationship()
    cadre: Mapped[Cadre] = relationship()


class VillageLink(Link, InCounty, Base):
    """A village's link leaders: county, town and county-department (三级挂钩)."""

    __tablename__ = "village_link"
    COUNTY_FROM = "village_id"
    __table_args__ = Link.rules("village_link", "village_id", "role")

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("village.id"))
    role: Mapped[LeaderRole] = mapped_column(enum_column(LeaderRole, "leader_role"))
    cadre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cadre.id"), index=True)

    village: Mapped[Village] = relationship()
    cadre: Mapped[Cadre] = relationship()
