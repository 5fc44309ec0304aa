"""The app's screens, one .py + .kv pair each, by the name the app navigates with."""

from __future__ import annotations

from mobile.screens.household import HouseholdScreen
from mobile.screens.households import HouseholdsScreen
from mobile.screens.inspection import InspectionScreen
from mobile.screens.issue import IssueScreen
from mobile.screens.login import LoginScreen
from mobile.screens.notebook import NotebookScreen
from mobile.screens.pin import PinScreen
from mobile.screens.sync import SyncScreen
from mobile.screens.visit import VisitScreen
from mobile.widgets import Page

SCREENS: dict[str, type[Page]] = {
    "households": HouseholdsScreen,
    "login": LoginScreen,
    "pin": PinScreen,
    "household": HouseholdScreen,
    "visit": VisitScreen,
    "issue": IssueScreen,
    "notebook": NotebookScreen,
    "sync": SyncScreen,
    "inspection": InspectionScreen,
}
