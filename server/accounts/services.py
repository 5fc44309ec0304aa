"""Accounts: password hashing and per-phone device tokens. Logging in with a
password is server/accounts/login.py."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from server.accounts.models import Account, ConsoleSession, Device
from server.audit.services import Actor, record
from server.clock import utcnow
from server.issues.models import Department
from server.ledger.models import Cadre, Town
from shared.vocab import AccountRole

# argon2id with OWASP's profile (RFC 9106's memory-constrained choice): 19 MiB,
# 2 passes, 1 lane. Measured on the 2-core test machine: 23 ms of CPU per check,
# against 230 ms (0.5 s of wall time) for the library's default of 64 MiB, 3
# passes and 4 lanes, which let a town's 200 phones logging in at once queue
# for 30 s and more. A worker checks LOGIN_CHECKS_PER_WORKER passwords at once,
# so their memory stays within 19 MiB each. Hashes made with other parameters
# are redone at their next login (check_password).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(Exception):
    """A refusal a user can act on; the message is bilingual."""


# How precisely a device's last contact is kept (shown to admins revoking phones).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    # The password hashed anew, when its hash was made with other parameters.
    new_hash: str | None = None


def check_password(password_hash: str, password: str) -> PasswordCheck:
    """Whether the password is the one hashed (the costly part of a login)."""
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(matches=False)
    if _hasher.check_needs_rehash(password_hash):
        return PasswordCheck(matches=True, new_hash=hash_password(password))
    return PasswordCheck(matches=True)


def create_account(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: AccountRole,
    display_name: str = "",
    town: Town | None = None,
    cadre: Cadre | None = None,
    department: Department | None = None,
    password_hash: str | None = None,
) -> Account:
    """Create an account. ``password_hash`` lets a bulk job hash once for many."""
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountError(f"用户名“{username}”已存在 / the username '{username}' is taken")
    if role == AccountRole.TOWN_ADMIN and town is None:
        raise AccountError("镇级管理员须指定镇 / a town admin needs a town")
    if role in (AccountRole.CADRE, AccountRole.VILLAGE_LEADER) and cadre is None:
        raise AccountError("干部账号须对应一名干部 / this role needs the cadre it belongs to")
    if role == AccountRole.DEPARTMENT and department is None:
        raise AccountError("部门账号须指定部门 / a department account needs its department")
    account = Account(
        username=username,
        display_name=display_name
        or (cadre.name if cadre else department.name if department else username),
        password_hash=password_hash or hash_password(password),
        role=role,
        town_id=town.id if town else None,
        cadre_id=cadre.id if cadre else None,
        department_id=department.id if department else None,
    )
    session.add(account)
    session.flush()
    record(session, actor, "create", "account", account.id, {"username": username, "role": role})
    return account


def set_active(session: Session, actor: Actor, account: Account, active: bool) -> None:
    """Disable (or enable) an account. Disabling also stops all its phones and
    ends its console sign-ins."""
    account.active = active
    if not active:
        for device in _live_devices(session, account):
            device.revoked_at = utcnow()
        session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    record(session, actor, "enable" if active else "disable", "account", account.id)


def unlock(session: Session, actor: Actor, account: Account) -> None:
    account.failed_logins = 0
    account.locked_until = None
    record(session, actor, "unlock", "account", account.id)


@dataclass(frozen=True)
class IssuedToken:
    device: Device
    token: str


def register_device(
    session: Session, account: Account, name: str, registration_id: uuid.UUID | None = None
) -> IssuedToken:
    """Register a phone for an account and issue its bearer token (shown once).

    A phone sends the same ``registration_id`` with every login. Logging in
    again (after an answer lost on the way, say) gives it back its live device
    with a new token, and the token before stops working: the phone never
    heard it, or has replaced it. Call with the account's row locked, as
    login.finish leaves it, so two such logins at once make one device.
    """
    token = secrets.token_urlsafe(32)
    device = None
    if registration_id is not None:
        device = session.scalar(
            select(Device).where(
                Device.account_id == account.id,
                Device.registration_id == registration_id,
                Device.revoked_at.is_(None),
            )
        )
    if device is None:
        action = "register"
        device = Device(
            account_id=account.id,
            name=name,
            registration_id=registration_id,
            token_hash=_token_hash(token),
        )
        session.add(device)
        session.flush()
    else:
        action = "reissue"
        device.name = name
        device.token_hash = _token_hash(token)
    record(
        session,
        Actor(account_id=account.id, device_id=device.id),
        action,
        "device",
        device.id,
        {"name": name},
    )
    return IssuedToken(device=device, token=token)


# Built once: every request of every phone runs it.
DEVICE_BY_TOKEN = (
    select(Device)
    .where(Device.token_hash == bindparam("token_hash"))
    .options(joinedload(Device.account))
)


def device_for_token(session: Session, token: str, now: datetime | None = None) -> Device | None:
    """The live device this token belongs to; ``None`` if unknown, revoked or disabled."""
    device = session.scalar(DEVICE_BY_TOKEN, {"token_hash": _token_hash(token)})
    if device is None or not device.account.active:
        return None
    # A lost phone, even revoked, is still heard until it has erased its store.
    if device.revoked_at is not None and not (device.lost_at and device.wiped_at is None):
        return None
    now = now or utcnow()
    # A sync is many requests: the device row is written once a minute, not for each.
    if device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
    return device


def revoke_device(session: Session, actor: Actor, device: Device) -> None:
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        record(session, actor, "revoke", "device", device.id)


def devices_of_cadre(session: Session, cadre_id: uuid.UUID) -> list[Device]:
    """The phones of the cadre's accounts, newest first."""
    return list(
        session.scalars(
            select(Device)
            .join(Account, Account.id == Device.account_id)
            .where(Account.cadre_id == cadre_id)
            .order_by(Device.created_at.desc())
        )
    )


def mark_lost(session: Session, actor: Actor, device: Device) -> None:
    """Have the phone erase its store at its next contact (after sending what it can)."""
    if device.lost_at is None and device.wiped_at is None:
        device.lost_at = utcnow()
        record(session, actor, "mark_lost", "device", device.id)


def confirm_wipe(session: Session, device: Device) -> None:
    """The lost phone says it has erased its store: its token ends here."""
    now = utcnow()
    device.wiped_at = now
    device.revoked_at = device.revoked_at or now
    record(
        session,
        Actor(account_id=device.account_id, device_id=device.id),
        "confirm_wipe",
        "device",
        device.id,
    )


def _live_devices(session: Session, account: Account) -> list[Device]:
    return list(
        session.scalars(
            select(Device).where(Device.account_id == account.id, Device.revoked_at.is_(None))
        )
    )


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()
