"""My households: who is waiting for a visit, and what is still open."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from mobile.notebook import HouseholdRow
from mobile.widgets import Page, Tappable


class HouseholdLine(Tappable):
    """One household in the list (a RecycleView row)."""

    household_id = StringProperty("")
    name = StringProperty("")
    place = StringProperty("")
    visit_text = StringProperty("")
    issues_text = StringProperty("")
    state = StringProperty("ok")
    open_issues = NumericProperty(0)


class HouseholdsScreen(Page):
    loaded = BooleanProperty(False)
    summary = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[HouseholdRow] = []
        self.summary = self.app.t("loading")
        self.app.bind(lang=lambda *_: self.render())

    def show(self, **params: Any) -> None:
        self.app.call(lambda notebook: notebook.households(), self.show_rows)

    def show_rows(self, rows: list[HouseholdRow]) -> None:
        self.rows = rows
        self.loaded = True
        self.render()

    def render(self) -> None:
        t = self.app.t
        shown = [row for row in self.rows if row.matches(self.ids.search.text)]
        self.ids.list.data = [
            {
                "household_id": row.id,
                "name": row.head_name,
                "place": f"{row.village} {row.grid}".strip(),
                "visit_text": (
                    t("households.never")
                    if row.days_since_visit is None
                    else t("households.today")
                    if row.days_since_visit == 0
                    else t("households.days", days=row.days_since_visit)
                ),
                "issues_text": (
                    t("households.issues", count=row.open_issues)
                    if row.open_issues
                    else t("households.no_issues")
                ),
                "state": row.state,
                "open_issues": row.open_issues,
            }
            for row in shown
        ]
        if not self.loaded:
            self.summary = t("loading")
        elif not self.rows:
            inspecting = self.app.inspector and not self.app.cadre
            self.summary = t("households.none_assigned" if inspecting else "households.empty")
        elif not shown:
            self.summary = t("households.none_match")
        else:
            self.summary = t("households.count", count=len(shown))

    def open(self, household_id: str) -> None:
        self.app.go("household", household_id=household_id)
