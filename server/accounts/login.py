"""Logging in with a password, throttled per account and per client address.

An account is locked after ``LOGIN_MAX_FAILURES`` (5) wrong passwords in a
row, for ``LOGIN_LOCK_MINUTES`` (1), doubling with each further failure up to
``LOGIN_MAX_LOCK_MINUTES`` (15): whoever sends wrong passwords for someone
else's account keeps its owner out for minutes, not a day. What grows is the
limit per client address: after ``LOGIN_CLIENT_MAX_FAILURES`` (10) failures
(wrong passwords and unknown usernames alike) an address is refused for
``LOGIN_CLIENT_LOCK_MINUTES`` (1), doubling with each further failure up to a
day. Each login that succeeds from an address takes one failure off (an
office's typists behind one address), and a day without failures forgets
it. A phone that holds a device token never logs in again, so none of this
can stop its sync.

Every attempt counts as a failure of its account before its password is
checked, under the account's row lock (SELECT ... FOR UPDATE on PostgreSQL;
SQLite runs one writer at a time), and sets the lock that failure would
earn; a right password takes both back. So attempts at once never get more
checks than the limit. An address's failures are counted after the check:
it may get as many more as it has checks under way at once (at most
``LOGIN_CHECKS_PER_WORKER`` times the workers).

A login is three steps, so that no transaction (no row lock, no SQLite
write lock) stays open while argon2 runs: ``start`` in a short transaction
the caller commits, ``Attempt.check`` outside the database, ``finish`` in
the request's transaction. server/accounts/auth.py runs them for the API and
the console.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from server.accounts.models import Account, LoginClient
from server.accounts.services import AccountError, PasswordCheck, check_password, hash_password
from server.db import upsert

WRONG_CREDENTIALS = "用户名或密码错误 / wrong username or password"
# An address without failures for this long starts again from none.
CLIENT_MEMORY = timedelta(days=1)
MAX_CLIENT_LOCK = timedelta(days=1)


@functools.cache
def _no_account_hash() -> str:
    """What an unknown username's password is checked against, so that the
    answer takes as long as for a real one (made at the first use, not at
    import: every command and worker start would pay for it)."""
    return hash_password(uuid.uuid4().hex)


class LoginRefused(AccountError):
    """No login; ``retry_after`` (seconds) when waiting will help."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int
    lock_minutes: int
    max_lock_minutes: int
    client_max_failures: int
    client_lock_minutes: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoginLimits:
        return cls(
            max_failures=config["LOGIN_MAX_FAILURES"],
            lock_minutes=config["LOGIN_LOCK_MINUTES"],
            max_lock_minutes=config["LOGIN_MAX_LOCK_MINUTES"],
            client_max_failures=config["LOGIN_CLIENT_MAX_FAILURES"],
            client_lock_minutes=config["LOGIN_CLIENT_LOCK_MINUTES"],
        )


@dataclass(frozen=True)
class Attempt:
    """A login under way: the address it came from, and the account (None
    for an unknown username) its password is compared with."""

    client: str
    account_id: uuid.UUID | None
    password_hash: str

    def check(self, password: str) -> PasswordCheck:
        """Compare the password: the costly part, run outside any transaction."""
        return check_password(self.password_hash, password)


def start(
    session: Session, username: str, client: str, limits: LoginLimits, now: datetime
) -> Attempt:
    """Refuse a locked address or account; otherwise count the attempt as a
    failure of its account (locking it if that is one too many) until
    ``finish`` hears the password was right."""
    client = client[:64]
    locked_until = session.scalar(
        select(LoginClient.locked_until).where(LoginClient.address == client)
    )
    if locked_until is not None and locked_until > now:
        minutes, seconds = _wait(locked_until, now)
        raise LoginRefused(
            f"此地址登录失败次数过多，请 {minutes} 分钟后再试"
            f" / too many failed logins from this address: try again in {minutes} minutes",
            retry_after=seconds,
        )
    account = session.scalar(
        select(Account)
        .where(Account.username == username)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        return Attempt(client=client, account_id=None, password_hash=_no_account_hash())
    if account.locked_until is not None and account.locked_until > now:
        minutes, seconds = _wait(account.locked_until, now)
        raise LoginRefused(
            f"密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试或联系管理员"
            f" / too many wrong passwords: the account is locked, try again in"
            f" {minutes} minutes or ask an admin",
            retry_after=seconds,
        )
    account.failed_logins += 1
    over = account.failed_logins - limits.max_failures
    if over >= 0:
        account.locked_until = now + _doubled(limits.lock_minutes, over, limits.max_lock_minutes)
    return Attempt(client=client, account_id=account.id, password_hash=account.password_hash)


def finish(
    session: Session, attempt: Attempt, check: PasswordCheck, limits: LoginLimits, now: datetime
) -> Account:
    """The account the attempt opens, or ``LoginRefused``. Leaves the
    account's row locked until the transaction ends (see register_device)."""
    account = None
    if attempt.account_id is not None and check.matches:
        account = session.scalar(
            select(Account)
            .where(Account.id == attempt.account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if account is None:
        _count_client_failure(session, attempt.client, limits, now)
        raise LoginRefused(WRONG_CREDENTIALS)
    # The right password: its attempt was no failure after all.
    account.failed_logins = 0
    account.locked_until = None
    session.execute(
        update(LoginClient)
        .where(LoginClient.address == attempt.client, LoginClient.failures > 0)
        .values(failures=LoginClient.failures - 1),
        execution_options={"synchronize_session": False},
    )
    if not account.active:
        raise LoginRefused("账号已停用，请联系管理员 / this account is disabled: ask an admin")
    account.last_login_at = now
    # Unless the password was changed meanwhile.
    if check.new_hash is not None and account.password_hash == attempt.password_hash:
        account.password_hash = check.new_hash
    return account


def _count_client_failure(
    session: Session, client: str, limits: LoginLimits, now: datetime
) -> None:
    forgotten = now - CLIENT_MEMORY
    failures = session.scalar(
        upsert(session, LoginClient)
        .values(address=client, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[LoginClient.address],
            set_={
                "failures": case(
                    (LoginClient.last_failure_at < forgotten, 1), else_=LoginClient.failures + 1
                ),
                "last_failure_at": now,
            },
        )
        .returning(LoginClient.failures)
    )
    assert failures is not None
    over = failures - limits.client_max_failures
    if over >= 0:
        lock = _doubled(limits.client_lock_minutes, over, MAX_CLIENT_LOCK // timedelta(minutes=1))
        session.execute(
            update(LoginClient)
            .where(LoginClient.address == client)
            .values(locked_until=now + lock),
            execution_options={"synchronize_session": False},
        )
    # Forget quiet addresses, a few at a time, passing over rows others hold.
    quiet = (
        select(LoginClient.address)
        .where(LoginClient.last_failure_at < forgotten)
        .limit(100)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginClient).where(LoginClient.address.in_(quiet)),
        execution_options={"synchronize_session": False},
    )


def _doubled(first_minutes: int, times: int, max_minutes: int) -> timedelta:
    return timedelta(minutes=min(first_minutes * 2 ** min(times, 30), max_minutes))


def _wait(until: datetime, now: datetime) -> tuple[int, int]:
    """Minutes (for people) and seconds (for Retry-After) until ``until``."""
    seconds = math.ceil((until - now).total_seconds())
    return math.ceil(seconds / 60), seconds
