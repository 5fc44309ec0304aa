"""Accounts: password hashing, login throttling and per-phone device tokens."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from server.accounts.models import Account, ConsoleSession, Device
from server.audit.services import Actor, record
from server.db import utcnow
from server.ledger.models import Cadre, Town
from shared.vocab import AccountRole

# argon2id with the library's defaults (RFC 9106's second recommended profile).
_hasher = PasswordHasher()


class AccountError(Exception):
    """A refusal a user can act on; the message is bilingual."""


class LoginRefused(AccountError):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


WRONG_CREDENTIALS = "用户名或密码错误 / wrong username or password"
# How precisely a device's last contact is kept (shown to admins revoking phones).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(account: Account, password: str) -> bool:
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
    password_hash: str | None = None,
) -> Account:
    """Create an account. ``password_hash`` lets a bulk job hash once for many."""
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountError(f"用户名“{username}”已存在 / the username '{username}' is taken")
    if role == AccountRole.TOWN_ADMIN and town is None:
        raise AccountError("镇级管理员须指定镇 / a town admin needs a town")
    if role in (AccountRole.CADRE, AccountRole.VILLAGE_LEADER) and cadre is None:
        raise AccountError("干部账号须对应一名干部 / this role needs the cadre it belongs to")
    account = Account(
        username=username,
        display_name=display_name or (cadre.name if cadre else username),
        password_hash=password_hash or hash_password(password),
        role=role,
        town_id=town.id if town else None,
        cadre_id=cadre.id if cadre else None,
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


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lock_minutes: int,
    now: datetime | None = None,
) -> Account:
    """The account these credentials open, or ``LoginRefused``.

    After ``max_failures`` wrong passwords in a row the account is locked,
    and each further failure doubles the lock, up to a day.
    """
    now = now or utcnow()
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        # Spend the same time as a real check, so timing does not reveal
        # which usernames exist.
        _burn_hash(password)
        raise LoginRefused(WRONG_CREDENTIALS)
    if account.locked_until is not None and account.locked_until > now:
        wait = int((account.locked_until - now).total_seconds()) + 1
        raise LoginRefused(
            f"密码错误次数过多，账号已锁定，请 {wait // 60 + 1} 分钟后再试或联系管理员"
            f" / too many wrong passwords: the account is locked, try again in"
            f" {wait // 60 + 1} minutes or ask an admin",
            retry_after=wait,
        )
    if not _password_matches(account, password):
        account.failed_logins += 1
        over = account.failed_logins - max_failures
        if over >= 0:
            minutes = min(lock_minutes * 2**over, 24 * 60)
            account.locked_until = now + timedelta(minutes=minutes)
        raise LoginRefused(WRONG_CREDENTIALS)
    if not account.active:
        raise LoginRefused("账号已停用，请联系管理员 / this account is disabled: ask an admin")
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


_DUMMY_HASH = _hasher.hash("minqing: no such account")


def _burn_hash(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


@dataclass(frozen=True)
class IssuedToken:
    device: Device
    token: str


def register_device(session: Session, account: Account, name: str) -> IssuedToken:
    """Register a phone for an account and issue its bearer token (shown once)."""
    token = secrets.token_urlsafe(32)
    device = Device(account_id=account.id, name=name, token_hash=_token_hash(token))
    session.add(device)
    session.flush()
    record(
        session,
        Actor(account_id=account.id, device_id=device.id),
        "register",
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
    if device is None or device.revoked_at is not None or not device.account.active:
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


def _live_devices(session: Session, account: Account) -> list[Device]:
    return list(
        session.scalars(
            select(Device).where(Device.account_id == account.id, Device.revoked_at.is_(None))
        )
    )


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()
