"""What every part of the generator shares: dates, ids, people and a village's ledger."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate

from server.demo.names import (
    FEMALE_FIRST,
    FEMALE_SECOND,
    MALE_FIRST,
    MALE_SECOND,
    MOBILE_PREFIXES,
    REPORT_NAMES,
    SURNAMES,
)
from server.demo.writer import Row

# Dongshan keeps China Standard Time (no daylight saving), so a fixed offset is exact.
CHINA = timezone(timedelta(hours=8))

# Visits cover this many days up to the day before ``as_of``.
VISITING_DAYS = 365
# How long before the first visit the ledger was drawn up.
LEDGER_LEAD_TIME = timedelta(days=30)


def new_id(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from the generator's own random stream."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class Calendar:
    """The demo's dates: a year of visits ending the day before ``as_of``."""

    as_of: date

    @property
    def cutoff(self) -> datetime:
        """The moment the demo's data stops: the start of ``as_of``, China time."""
        return self.at(self.as_of)

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=VISITING_DAYS)

    @property
    def gaokao_year(self) -> int:
        """The latest year whose gaokao season (June to August) is over by ``as_of``."""
        return self.as_of.year if self.as_of >= date(self.as_of.year, 9, 1) else self.as_of.year - 1

    @property
    def established(self) -> datetime:
        """When the ledger was drawn up: before the first visit and the gaokao case."""
        start = min(self.first_day, date(self.gaokao_year, 6, 1))
        return self.at(start, 9 * 60) - LEDGER_LEAD_TIME

    def day(self, index: int) -> date:
        """Day ``index`` of the visiting year (0 to ``VISITING_DAYS - 1``)."""
        return self.first_day + timedelta(days=index)

    def at(self, day: date, minute: int = 0) -> datetime:
        """``minute`` minutes after midnight of ``day``, China time."""
        return datetime.combine(day, time(0), CHINA) + timedelta(minutes=minute)

    def clamp(self, moment: datetime) -> datetime:
        """``moment``, or the cutoff if it is later: nothing is recorded after the demo ends."""
        return min(moment, self.cutoff)


class People:
    """Synthetic names and mobile numbers; cadre phones never repeat."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames = [surname for surname, _ in SURNAMES]
        self.cumulative = list(accumulate(weight for _, weight in SURNAMES))
        self.cadre_phones: set[str] = set()

    def name(self, female: bool = False) -> str:
        rng = self.rng
        first, second = (FEMALE_FIRST, FEMALE_SECOND) if female else (MALE_FIRST, MALE_SECOND)
        while True:
            surname = rng.choices(self.surnames, cum_weights=self.cumulative)[0]
            given = (
                rng.choice(second)
                if rng.random() < 0.12
                else rng.choice(first) + rng.choice(second)
            )
            if surname + given not in REPORT_NAMES:
                return surname + given

    def phone(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def cadre_phone(self) -> str:
        """A phone no other cadre has: it is the cadre's identity and login."""
        while (phone := self.phone()) in self.cadre_phones:
            pass
        self.cadre_phones.add(phone)
        return phone


@dataclass
class Covering:
    """One cadre and the households they cover: a contiguous run in one village."""

    cadre_id: uuid.UUID
    from_department: bool
    households: list[Row]


@dataclass
class VillageLedger:
    """One village as generated, for the visits, issues and report cases to work from."""

    village_id: uuid.UUID
    village: str
    town: str
    latitude: float
    longitude: float
    coverings: list[Covering] = field(default_factory=list)

    def department_coverings(self) -> list[Covering]:
        """The coverings of the county department linked to this village."""
        return [covering for covering in self.coverings if covering.from_department]
