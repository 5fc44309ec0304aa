"""The console's small two-town county serves these tests too."""

from tests.server.console.conftest import county

__all__ = ["county"]
