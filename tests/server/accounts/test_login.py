"""Logging in with a password: locks per account (short) and per address (growing),
counted atomically, with hashes brought up to the current argon2 parameters."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from server.accounts import login, services
from server.accounts.models import Account, LoginClient
from server.audit.services import SYSTEM
from server.clock import utcnow
from server.db import transaction
from shared.vocab import AccountRole
from tests.server.sync.world import wipe

LIMITS = login.LoginLimits(
    max_failures=5,
    lock_minutes=1,
    max_lock_minutes=15,
    client_max_failures=10,
    client_lock_minutes=1,
)
OWNER = "10.0.0.1"
STRANGER = "10.6.6.6"


def log_in(
    session: Session,
    username: str,
    password: str,
    client: str = OWNER,
    now: datetime | None = None,
) -> Account:
    """What server/accounts/auth.py does for a request, without HTTP."""
    now = now or utcnow()
    attempt = login.start(session, username, client, LIMITS, now)
    session.commit()
    return login.finish(session, attempt, attempt.check(password), LIMITS, now)


def refusal(session: Session, username: str, password: str, **kwargs: object) -> login.LoginRefused:
    with pytest.raises(login.LoginRefused) as refused:
        log_in(session, username, password, **kwargs)  # type: ignore[arg-type]
    return refused.value


def failures_of(session: Session, client: str) -> int | None:
    return session.scalar(select(LoginClient.failures).where(LoginClient.address == client))


@pytest.fixture
def admin(session: Session) -> Account:
    return services.create_account(
        session, SYSTEM, username="admin", password="correct horse", role=AccountRole.COUNTY_ADMIN
    )


def test_the_right_password_logs_in_and_resets_the_failure_count(
    session: Session, admin: Account
) -> None:
    assert refusal(session, "admin", "wrong").retry_after is None
    assert admin.failed_logins == 1
    assert log_in(session, "admin", "correct horse") is admin
    assert admin.failed_logins == 0
    assert admin.last_login_at is not None


def test_an_attempt_counts_as_a_failure_until_its_password_proves_right(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    attempt = login.start(session, "admin", OWNER, LIMITS, now)
    assert admin.failed_logins == 1
    login.finish(session, attempt, attempt.check("correct horse"), LIMITS, now)
    assert admin.failed_logins == 0


def test_five_wrong_passwords_lock_the_account_for_a_minute_even_against_the_right_one(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    for _ in range(5):
        assert refusal(session, "admin", "guess", now=now).retry_after is None
    locked = refusal(session, "admin", "correct horse", now=now)
    assert locked.retry_after == 60
    assert "锁定" in str(locked) and "1 minutes" in str(locked)
    assert log_in(session, "admin", "correct horse", now=now + timedelta(seconds=61)) is admin


def test_each_further_failure_doubles_the_lock_up_to_fifteen_minutes(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    for _ in range(5):
        refusal(session, "admin", "guess", client=STRANGER, now=now)
    locks = []
    for _ in range(6):
        assert admin.locked_until is not None
        now = admin.locked_until + timedelta(seconds=1)
        refusal(session, "admin", "guess again", client=STRANGER, now=now)
        locks.append(round((admin.locked_until - now).total_seconds() / 60))
    assert locks == [2, 4, 8, 15, 15, 15]
    after = admin.locked_until + timedelta(seconds=1)
    assert log_in(session, "admin", "correct horse", now=after) is admin


def test_a_dozen_wrong_passwords_from_a_stranger_keep_the_owner_out_a_minute_at_most(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    refusals = [refusal(session, "admin", "guess", client=STRANGER, now=now) for _ in range(12)]
    checked = [refused for refused in refusals if refused.retry_after is None]
    assert len(checked) == 5
    assert all(0 < (refused.retry_after or 0) <= 60 for refused in refusals[5:])
    assert failures_of(session, STRANGER) == 5, "only checked passwords count against it"
    assert refusal(session, "admin", "correct horse", now=now).retry_after == 60
    later = now + timedelta(seconds=61)
    assert log_in(session, "admin", "correct horse", client=OWNER, now=later) is admin


def test_many_failures_from_one_address_lock_it_for_ever_longer_but_no_other_address(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    for number in range(10):
        assert refusal(session, f"nobody-{number}", "guess", client=STRANGER, now=now)
    flooded = refusal(session, "admin", "correct horse", client=STRANGER, now=now)
    assert flooded.retry_after == 60
    assert "此地址" in str(flooded) and "from this address" in str(flooded)
    assert admin.failed_logins == 0, "a locked address is refused before any account"
    assert log_in(session, "admin", "correct horse", client=OWNER, now=now) is admin
    now += timedelta(seconds=61)
    for minutes in (2, 4, 8):
        assert refusal(session, "nobody", "guess", client=STRANGER, now=now).retry_after is None
        locked = refusal(session, "nobody", "guess", client=STRANGER, now=now)
        assert locked.retry_after == minutes * 60
        now += timedelta(minutes=minutes, seconds=1)


def test_a_login_that_succeeds_takes_one_failure_off_its_address(
    session: Session, admin: Account
) -> None:
    for _ in range(3):
        refusal(session, "admin", "typo")
    log_in(session, "admin", "correct horse")
    assert failures_of(session, OWNER) == 2


def test_an_address_is_forgotten_a_day_after_its_last_failure(
    session: Session, admin: Account
) -> None:
    now = utcnow()
    for number in range(10):
        refusal(session, f"nobody-{number}", "guess", client=STRANGER, now=now)
    tomorrow = now + timedelta(days=1, seconds=1)
    refusal(session, "nobody", "guess", client=OWNER, now=tomorrow)
    assert failures_of(session, STRANGER) is None
    assert refusal(session, "nobody", "guess", client=STRANGER, now=tomorrow).retry_after is None
    assert failures_of(session, STRANGER) == 1


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    session: Session, admin: Account
) -> None:
    assert str(refusal(session, "nobody", "guess")) == str(refusal(session, "admin", "guess"))


def test_a_disabled_account_cannot_log_in_even_with_its_password(
    session: Session, admin: Account
) -> None:
    services.set_active(session, SYSTEM, admin, False)
    assert "停用" in str(refusal(session, "admin", "correct horse"))
    assert admin.failed_logins == 0


def test_a_hash_made_with_older_parameters_is_redone_at_the_next_login(
    session: Session, admin: Account
) -> None:
    # argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes (what earlier versions stored).
    admin.password_hash = PasswordHasher().hash("correct horse")
    assert admin.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    log_in(session, "admin", "correct horse")
    assert admin.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert log_in(session, "admin", "correct horse") is admin


@pytest.fixture
def committed(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that commit for real, each on its own connection."""
    wipe(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as session:
        services.create_account(
            session,
            SYSTEM,
            username="admin",
            password="correct horse",
            role=AccountRole.COUNTY_ADMIN,
        )
    yield factory
    wipe(engine)


def test_wrong_passwords_sent_eight_at_a_time_get_no_more_checks_than_the_limit(
    committed: sessionmaker[Session],
) -> None:
    def attempt(_: int) -> str:
        try:
            with transaction(committed) as session:
                started = login.start(session, "admin", STRANGER, LIMITS, utcnow())
        except login.LoginRefused:
            return "locked"
        check = started.check("guess")
        with transaction(committed) as session:
            try:
                login.finish(session, started, check, LIMITS, utcnow())
            except login.LoginRefused:
                return "checked"  # and the failure is committed, as auth.py does
        return "opened"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count("checked") == LIMITS.max_failures
    assert outcomes.count("locked") == 20 - LIMITS.max_failures
    with committed() as session:
        account = session.scalars(select(Account)).one()
        assert account.failed_logins == LIMITS.max_failures
        assert failures_of(session, STRANGER) == LIMITS.max_failures
