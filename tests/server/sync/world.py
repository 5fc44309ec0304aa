"""A small county for sync tests: one village, a few cadres, their households,
a town admin, and the means to start phones against a server."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.services import create_account, hash_password
from server.audit.services import SYSTEM
from server.db import Base, transaction
from server.ledger.models import Cadre, Household
from server.ledger.queries import first_county
from server.ledger.services import link_household
from server.ledger.settings import set_phone_lock_minutes
from shared.vocab import AccountRole
from sync.phone import Phone
from sync.transport import Transport
from tests.builders import DEFAULT_COUNTY, LedgerBuilder

PASSWORD = "minqing-demo"
_HASH = hash_password(PASSWORD)  # one argon2 hash for every test account


def wipe(engine: Engine) -> None:
    """Empty every table (the change counters go with their counties; the epoch stays)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "sync_epoch":
                connection.execute(delete(table))


@dataclass
class County:
    """The ledger of a sync test, and its phones."""

    app: Flask
    tmp: Path
    cadres: list[str] = field(default_factory=list)  # usernames (= phones)
    households: dict[str, list[str]] = field(default_factory=dict)  # username -> ids
    admin: str = "town-qianlou"

    @classmethod
    def build(
        cls,
        app: Flask,
        tmp: Path,
        cadres: int = 2,
        households_each: int = 3,
        name: str = DEFAULT_COUNTY,
        admin: str = "town-qianlou",
    ) -> County:
        county = cls(app, tmp, admin=admin)
        with transaction(app.extensions["minqing.db"]) as session:
            ledger = LedgerBuilder(session, name)
            town = ledger.town()
            grid = ledger.grid()
            create_account(
                session, SYSTEM, username=county.admin, password=PASSWORD,
                role=AccountRole.TOWN_ADMIN, town=town, password_hash=_HASH,
                display_name="前楼镇办公室",
            )  # fmt: skip
            for number in range(cadres):
                cadre = ledger.cadre(f"干部{number + 1}")
                create_account(
                    session, SYSTEM, username=cadre.phone, password=PASSWORD,
                    role=AccountRole.CADRE, cadre=cadre, password_hash=_HASH,
                )  # fmt: skip
                county.cadres.append(cadre.phone)
                county.households[cadre.phone] = []
                for index in range(households_each):
                    household = ledger.household(grid, head_name=f"林{number}{index}")
                    link_household(session, SYSTEM, household, cadre)
                    county.households[cadre.phone].append(str(household.id))
        return county

    def phone(self, username: str, transport: Transport, skew_ms: int = 0, name: str = "") -> Phone:
        """A phone of ``username`` whose clock is ``skew_ms`` off, logged in."""
        phone = Phone(
            self.tmp / f"{name or username}-{uuid.uuid4().hex[:6]}.db",
            transport=transport,
            wall_ms=lambda: time.time_ns() // 1_000_000 + skew_ms,
        )
        phone.login(username, PASSWORD, name or f"phone of {username}")
        return phone

    def session(self) -> Session:
        return self.app.extensions["minqing.db"]()

    def cadre(self, session: Session, username: str) -> Cadre:
        return session.scalars(
            select(Cadre)
            .join(Account, Account.cadre_id == Cadre.id)
            .where(Account.username == username)
        ).one()

    def admin_account(self, session: Session) -> Account:
        return session.scalars(select(Account).where(Account.username == self.admin)).one()

    def set_lock_minutes(self, minutes: int) -> None:
        """What the county admin does on the console's settings page."""
        with transaction(self.app.extensions["minqing.db"]) as session:
            county = first_county(session)
            assert county is not None
            set_phone_lock_minutes(session, SYSTEM, county, minutes)

    def reassign(self, household_id: str, to_username: str) -> None:
        with transaction(self.app.extensions["minqing.db"]) as session:
            household = session.get(Household, uuid.UUID(household_id))
            assert household is not None
            link_household(session, SYSTEM, household, self.cadre(session, to_username))
        for ids in self.households.values():
            if household_id in ids:
                ids.remove(household_id)
        self.households[to_username].append(household_id)
