"""The database's epoch: which life of the ledger a phone is talking to.

A restore from a backup (or a point-in-time recovery) takes the ledger back
to an earlier moment: what phones pushed after it is gone, and the change
counter hands out numbers phones have already seen. The restore renews the
epoch (``minqing db restore`` / ``minqing db restored``); every sync answer
carries it, and a phone that sees it change sends every change it made
again and pulls from the start (sync/engine.py).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.clock import utcnow
from server.sync.models import SyncEpoch

_CURRENT = select(SyncEpoch.value).where(SyncEpoch.id == 1)


def current_epoch(session: Session) -> str:
    return session.execute(_CURRENT).scalar_one()


def renew_epoch(session: Session) -> str:
    """Start a new epoch: phones will resend what this database may lack."""
    value = str(uuid.uuid4())
    session.execute(
        update(SyncEpoch).where(SyncEpoch.id == 1).values(value=value, began_at=utcnow())
    )
    return value
