"""The audit trail: who changed what, when, and from which device."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow
from server.db import Base, new_id


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_record", "entity", "entity_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Empty account: the system itself (a CLI command run on the server).
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID | None]
    # Field -> [old, new] for the change actions (audit.services.CHANGE_ACTIONS);
    # field -> value for the rest (a create: the new record).
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
