"""Small ledgers built record by record, for tests that need a few of each."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import DEFAULT_SERVICE_NUMBERS
from server.ledger.models import Cadre, County, Grid, Household, Town, Village, WorkUnit
from shared.vocab import Rank, UnitKind

_serial = itertools.count(1)
DEFAULT_COUNTY = "东山县"


@dataclass
class LedgerBuilder:
    """Adds places, units, cadres and households with valid defaults."""

    session: Session
    # Another county's places and units are its own (unit names are unique
    # across the database, so they carry the county's name).
    county_name: str = DEFAULT_COUNTY
    county: County = field(init=False)

    def __post_init__(self) -> None:
        county = self.session.scalar(select(County).where(County.name == self.county_name))
        if county is None:
            county = County(name=self.county_name, service_numbers=DEFAULT_SERVICE_NUMBERS)
            self.session.add(county)
            self.session.flush()
        self.county = county

    def town(self, name: str = "前楼镇") -> Town:
        town = self.session.scalar(
            select(Town).where(Town.county_id == self.county.id, Town.name == name)
        )
        if town is None:
            town = Town(county_id=self.county.id, name=name)
            self.session.add(town)
            self.session.flush()
        return town

    def village(self, name: str = "前楼村", town: Town | None = None) -> Village:
        town_id = (town or self.town()).id
        village = self.session.scalar(
            select(Village).where(Village.town_id == town_id, Village.name == name)
        )
        if village is None:
            village = Village(town_id=town_id, name=name)
            self.session.add(village)
            self.session.flush()
        return village

    def grid(self, village: Village | None = None, name: str | None = None) -> Grid:
        grid = Grid(
            village_id=(village or self.village()).id, name=name or f"第{next(_serial)}网格"
        )
        self.session.add(grid)
        self.session.flush()
        return grid

    def unit(self, name: str = "县教育局", kind: UnitKind = UnitKind.COUNTY_DEPARTMENT) -> WorkUnit:
        if self.county_name != DEFAULT_COUNTY:
            name = f"{self.county_name}{name}"
        unit = self.session.scalar(select(WorkUnit).where(WorkUnit.name == name))
        if unit is None:
            unit = WorkUnit(name=name, kind=kind, county_id=self.county.id)
            self.session.add(unit)
            self.session.flush()
        return unit

    def cadre(
        self, name: str = "陈志明", unit: WorkUnit | None = None, rank: Rank = Rank.COUNTY_CADRE
    ) -> Cadre:
        cadre = Cadre(
            name=name,
            unit_id=(unit or self.unit()).id,
            phone=f"139{next(_serial):08d}",
            rank=rank,
        )
        self.session.add(cadre)
        self.session.flush()
        return cadre

    def household(
        self, grid: Grid | None = None, head_name: str = "林春武", **facts: object
    ) -> Household:
        household = Household(
            code=f"H{next(_serial):06d}",
            grid_id=(grid or self.grid()).id,
            head_name=head_name,
            members=int(facts.pop("members", 4)),  # type: ignore[call-overload]
            **facts,
        )
        self.session.add(household)
        self.session.flush()
        return household
