"""Accounts: argon2 hashes, revocable device tokens, a phone's device found again."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts import services
from server.accounts.models import Account
from server.audit.models import AuditEntry
from server.audit.services import SYSTEM
from server.clock import utcnow
from shared.vocab import AccountRole
from tests.builders import LedgerBuilder


@pytest.fixture
def admin(session: Session) -> Account:
    return services.create_account(
        session, SYSTEM, username="admin", password="correct horse", role=AccountRole.COUNTY_ADMIN
    )


def test_passwords_are_stored_as_argon2id_hashes_not_plain_text(admin: Account) -> None:
    assert admin.password_hash.startswith("$argon2id$")
    assert "correct horse" not in admin.password_hash


def test_disabling_an_account_revokes_its_phones(session: Session, admin: Account) -> None:
    issued = services.register_device(session, admin, "phone")
    services.set_active(session, SYSTEM, admin, False)
    assert services.device_for_token(session, issued.token) is None


def test_a_phone_registering_again_with_its_registration_id_gets_its_device_and_a_new_token(
    session: Session, admin: Account
) -> None:
    registration = uuid.uuid4()
    lost = services.register_device(session, admin, "红米 9A", registration)
    again = services.register_device(session, admin, "红米 9A", registration)
    assert again.device is lost.device
    assert services.device_for_token(session, lost.token) is None
    assert services.device_for_token(session, again.token) is again.device
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == again.device.id)
    ).all()
    assert sorted(actions) == ["register", "reissue"]


def test_without_a_registration_id_or_after_a_revocation_a_login_makes_a_new_device(
    session: Session, admin: Account
) -> None:
    older_app = [services.register_device(session, admin, "old app") for _ in range(2)]
    assert older_app[0].device is not older_app[1].device
    registration = uuid.uuid4()
    revoked = services.register_device(session, admin, "lost phone", registration)
    services.revoke_device(session, SYSTEM, revoked.device)
    fresh = services.register_device(session, admin, "lost phone", registration)
    assert fresh.device is not revoked.device
    assert services.device_for_token(session, revoked.token) is None
    other = services.create_account(
        session, SYSTEM, username="town", password="x" * 8, role=AccountRole.INSPECTOR
    )
    assert services.register_device(session, other, "phone", registration).device not in (
        revoked.device,
        fresh.device,
    )


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
