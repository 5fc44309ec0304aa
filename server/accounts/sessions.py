"""Console sign-ins, kept on the server so that logging out ends them.

Flask's session is a signed cookie the server cannot take back: a copy taken
before logging out would open the console for ever. The cookie carries only a
random token instead, and the sign-in it names lives here until the admin logs
out, the account is disabled (``services.set_active``) or it expires.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from server.accounts.models import Account, ConsoleSession
from server.accounts.services import _token_hash
from server.clock import utcnow


def start(session: Session, account: Account, lifetime: timedelta) -> str:
    """Sign ``account`` in for ``lifetime``; the token for the session cookie."""
    now = utcnow()
    # The account's sign-ins that ran out are cleared as it signs in again.
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.account_id == account.id, ConsoleSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            account_id=account.id, token_hash=_token_hash(token), expires_at=now + lifetime
        )
    )
    return token


def account_for(session: Session, token: str, now: datetime | None = None) -> Account | None:
    """The account a live sign-in belongs to; ``None`` if ended, expired or disabled."""
    signed_in = session.scalar(
        select(ConsoleSession)
        .where(ConsoleSession.token_hash == _token_hash(token))
        .options(joinedload(ConsoleSession.account))
    )
    if signed_in is None or signed_in.expires_at <= (now or utcnow()):
        return None
    return signed_in.account if signed_in.account.active else None


def end(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))
