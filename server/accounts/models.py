"""Accounts, their roles and scopes, the phones (devices) they log in from, and
the addresses that sent wrong passwords."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utcnow
from server.db import Base, enum_column, new_id
from server.indexes import partial_index
from server.ledger.models import Cadre, Town
from shared.vocab import AccountRole


class Account(Base):
    """Someone who logs in. Their role and town or cadre decide what they see."""

    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("role != 'town_admin' OR town_id IS NOT NULL", name="town_admin_has_town"),
        CheckConstraint(
            "role NOT IN ('cadre', 'village_leader') OR cadre_id IS NOT NULL",
            name="cadre_roles_have_cadre",
        ),
        CheckConstraint(
            "role != 'department' OR department_id IS NOT NULL",
            name="department_role_has_department",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[AccountRole] = mapped_column(enum_column(AccountRole, "account_role"))
    # A town admin's town; an inspector limited to one town has it too.
    town_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("town.id"))
    # The cadre behind a cadre or village-link-leader account.
    cadre_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    # A department account's department: it sees the issues passed to it.
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    town: Mapped[Town | None] = relationship()
    cadre: Mapped[Cadre | None] = relationship()


class Device(Base):
    """A phone registered to an account. Its token never expires on its own —
    a cadre may be offline for weeks — but an admin can revoke it."""

    __tablename__ = "device"
    __table_args__ = (
        # A phone's retried login (its answer lost) finds the device it made.
        partial_index(
            "uq_device_registration",
            "account_id",
            "registration_id",
            where="revoked_at IS NULL",
            unique=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # Only a SHA-256 of the token is kept: a stolen database grants no access.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Made once by the phone and sent with each login (None from older apps).
    registration_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Marked lost by an admin: at its next contact the phone sends what it
    # can, erases its store and says so (wiped_at); then it is revoked.
    lost_at: Mapped[datetime | None]
    wiped_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()


class ConsoleSession(Base):
    """A console sign-in. The signed session cookie carries only its token, so
    logging out (or disabling the account) ends it on the server: a copy of the
    cookie taken before opens nothing afterwards."""

    __tablename__ = "console_session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    # Only a SHA-256 of the token is kept, as for devices.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    account: Mapped[Account] = relationship()


class LoginClient(Base):
    """An address (server/accounts/login.py) that sent wrong passwords: how
    many, and until when its logins are refused. Forgotten a day after its
    last failure."""

    __tablename__ = "login_client"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]
