"""Every mapped class, imported once so the metadata (and Alembic) sees them all."""

from server.accounts.models import Account, Device
from server.audit.models import AuditEntry
from server.db import Base
from server.inspections.models import Inspection
from server.issues.models import Issue, IssueEvent
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.visits.models import Visit

__all__ = [
    "Account",
    "AuditEntry",
    "Base",
    "Cadre",
    "County",
    "Device",
    "Grid",
    "Household",
    "HouseholdLink",
    "Inspection",
    "Issue",
    "IssueEvent",
    "Town",
    "Village",
    "VillageLink",
    "Visit",
    "WorkUnit",
]
