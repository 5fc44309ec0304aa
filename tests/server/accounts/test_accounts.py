"""Accounts: argon2 hashes, throttled logins, revocable device tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts import services
from server.accounts.models import Account
from server.audit.models import AuditEntry
from server.audit.services import SYSTEM
from server.db import utcnow
from shared.vocab import AccountRole
from tests.builders import LedgerBuilder

LOGIN = {"max_failures": 5, "lock_minutes": 15}


@pytest.fixture
def admin(session: Session) -> Account:
    return services.create_account(
        session, SYSTEM, username="admin", password="correct horse", role=AccountRole.COUNTY_ADMIN
    )


def test_passwords_are_stored_as_argon2id_hashes_not_plain_text(admin: Account) -> None:
    assert admin.password_hash.startswith("$argon2id$")
    assert "correct horse" not in admin.password_hash


def test_the_right_password_logs_in_and_resets_the_failure_count(
    session: Session, admin: Account
) -> None:
    with pytest.raises(services.LoginRefused):
        services.authenticate(session, "admin", "wrong", **LOGIN)
    assert admin.failed_logins == 1
    assert services.authenticate(session, "admin", "correct horse", **LOGIN) is admin
    assert admin.failed_logins == 0
    assert admin.last_login_at is not None


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    session: Session, admin: Account
) -> None:
    for _ in range(5):
        with pytest.raises(services.LoginRefused):
            services.authenticate(session, "admin", "guess", **LOGIN)
    with pytest.raises(services.LoginRefused) as locked:
        services.authenticate(session, "admin", "correct horse", **LOGIN)
    assert locked.value.retry_after is not None
    assert 14 * 60 < locked.value.retry_after <= 15 * 60 + 1
    assert "锁定" in str(locked.value)


def test_a_lock_expires_and_each_further_failure_doubles_it(
    session: Session, admin: Account
) -> None:
    start = utcnow()
    for _ in range(5):
        with pytest.raises(services.LoginRefused):
            services.authenticate(session, "admin", "guess", now=start, **LOGIN)
    later = start + timedelta(minutes=16)
    with pytest.raises(services.LoginRefused):
        services.authenticate(session, "admin", "guess again", now=later, **LOGIN)
    assert admin.locked_until == later + timedelta(minutes=30)
    after_lock = later + timedelta(minutes=31)
    assert services.authenticate(session, "admin", "correct horse", now=after_lock, **LOGIN)


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    session: Session, admin: Account
) -> None:
    with pytest.raises(services.LoginRefused) as unknown:
        services.authenticate(session, "nobody", "guess", **LOGIN)
    with pytest.raises(services.LoginRefused) as wrong:
        services.authenticate(session, "admin", "guess", **LOGIN)
    assert str(unknown.value) == str(wrong.value)


def test_a_disabled_account_cannot_log_in_and_its_phones_are_revoked(
    session: Session, admin: Account
) -> None:
    issued = services.register_device(session, admin, "phone")
    services.set_active(session, SYSTEM, admin, False)
    assert services.device_for_token(session, issued.token) is None
    with pytest.raises(services.LoginRefused, match="停用"):
        services.authenticate(session, "admin", "correct horse", **LOGIN)


def test_a_device_token_still_works_after_weeks_offline(session: Session, admin: Account) -> None:
    issued = services.register_device(session, admin, "红米 9A")
    issued.device.created_at = utcnow() - timedelta(days=90)
    issued.device.last_seen_at = utcnow() - timedelta(days=60)
    assert services.device_for_token(session, issued.token) is issued.device


def test_only_a_hash_of_the_device_token_is_stored(session: Session, admin: Account) -> None:
    issued = services.register_device(session, admin, "phone")
    assert issued.token not in issued.device.token_hash
    assert len(issued.device.token_hash) == 64


def test_a_revoked_device_token_stops_working_and_the_revocation_is_audited(
    session: Session, admin: Account
) -> None:
    issued = services.register_device(session, admin, "lost phone")
    services.revoke_device(session, SYSTEM, issued.device)
    assert services.device_for_token(session, issued.token) is None
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == issued.device.id)
    ).all()
    assert sorted(actions) == ["register", "revoke"]


def test_a_town_admin_needs_a_town_and_a_cadre_account_needs_a_cadre(session: Session) -> None:
    with pytest.raises(services.AccountError):
        services.create_account(
            session, SYSTEM, username="t", password="x" * 8, role=AccountRole.TOWN_ADMIN
        )
    with pytest.raises(services.AccountError):
        services.create_account(
            session, SYSTEM, username="c", password="x" * 8, role=AccountRole.CADRE
        )
    ledger = LedgerBuilder(session)
    account = services.create_account(
        session,
        SYSTEM,
        username="13900000001",
        password="x" * 8,
        role=AccountRole.CADRE,
        cadre=ledger.cadre(),
    )
    assert account.display_name == "陈志明"


def test_usernames_are_unique(session: Session, admin: Account) -> None:
    with pytest.raises(services.AccountError, match="admin"):
        services.create_account(
            session, SYSTEM, username="admin", password="x" * 8, role=AccountRole.INSPECTOR
        )
