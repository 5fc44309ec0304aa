"""The console's pages, one module per area; importing them registers their routes."""

from server.console.blueprint import bp
from server.console.views import (  # noqa: F401 - each registers its routes on bp
    conflicts,
    coverage,
    departments,
    devices,
    inspections,
    issues,
    jobs,
    ledger,
    links,
    outputs,
    photos,
    session,
    settings,
)

__all__ = ["bp"]
