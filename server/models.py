"""Every mapped class, imported once so the metadata (and Alembic) sees them all
(the change numbering every flush goes through comes with the synced ones)."""

from server.accounts.models import Account, ConsoleSession, Device, LoginClient
from server.audit.models import AuditEntry
from server.db import Base
from server.inspections.models import Inspection, InspectionAssignment
from server.issues.models import Deadline, Department, Issue, IssueEvent
from server.jobs.models import Job
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
from server.photos.models import Photo, PhotoBlob, PhotoUploadChunk
from server.sequence import SyncCounter
from server.sync.models import AppliedChange, Conflict, SyncEpoch
from server.visits.models import Visit

__all__ = [
    "Account",
    "AppliedChange",
    "Conflict",
    "SyncCounter",
    "SyncEpoch",
    "AuditEntry",
    "Base",
    "Cadre",
    "Deadline",
    "Department",
    "ConsoleSession",
    "County",
    "Device",
    "Grid",
    "Household",
    "HouseholdLink",
    "Inspection",
    "InspectionAssignment",
    "Issue",
    "IssueEvent",
    "Job",
    "LoginClient",
    "Photo",
    "PhotoBlob",
    "PhotoUploadChunk",
    "Town",
    "Village",
    "VillageLink",
    "Visit",
    "WorkUnit",
]
