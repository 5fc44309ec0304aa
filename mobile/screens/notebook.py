"""The notebook (民情记录本): every visit of the cadre's, filterable by household and date."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, NumericProperty, StringProperty

from mobile.forms import parse_day, show_time
from mobile.notebook import HouseholdRow, VisitRow
from mobile.widgets import Page, Tappable


class VisitLine(Tappable):
    """One visit in the notebook (a RecycleView row); tapping opens its household."""

    household_id = StringProperty("")
    title = StringProperty("")
    doing = StringProperty("")
    notes = StringProperty("")
    issues = NumericProperty(0)
    # The visit's photos (PhotoView); the row has room for the first one's thumbnail.
    photos = ListProperty()


class NotebookScreen(Page):
    household_id = StringProperty("")
    summary = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.visits: list[VisitRow] = []
        self.households: list[HouseholdRow] = []
        self.app.bind(lang=lambda *_: self.render())

    def show(self, **params: Any) -> None:
        self.household_id = params.get("household_id", "")
        self.app.call(lambda notebook: notebook.households(), self._households)
        self.apply()

    def _households(self, households: list[HouseholdRow]) -> None:
        self.households = sorted(households, key=lambda row: row.head_name)
        self._fill_choices()

    def _fill_choices(self) -> None:
        """The household spinner: every household, then each by name (and code,
        as two heads of household may share a name)."""
        names = [self.app.t("notebook.all")] + [_choice(row) for row in self.households]
        self.ids.household.values = names
        chosen = next((row for row in self.households if row.id == self.household_id), None)
        self.ids.household.text = _choice(chosen) if chosen else names[0]

    def chosen(self, text: str) -> None:
        household_id = next((row.id for row in self.households if _choice(row) == text), "")
        if household_id != self.household_id:
            self.household_id = household_id
            self.apply()

    def apply(self) -> None:
        start, end = parse_day(self.ids.start.text), parse_day(self.ids.end.text)
        household_id = self.household_id or None
        self.app.call(
            lambda notebook: notebook.visits(household_id, start, end),
            self._loaded,
        )

    def _loaded(self, visits: list[VisitRow]) -> None:
        self.visits = visits
        self.render()

    def render(self) -> None:
        app = self.app
        if self.households:
            self._fill_choices()
        self.summary = app.t("notebook.count", count=len(self.visits))
        self.ids.list.data = [
            {
                "household_id": visit.household_id,
                "title": f"{show_time(visit.visited_at)} · {visit.head_name} · "
                f"{app.label('VisitKind', visit.kind)}",
                "doing": "、".join(
                    [app.label("VisitRole", role) for role in visit.roles] + visit.topics
                ),
                "notes": " ".join(visit.notes.split()),
                "issues": visit.issues,
                "photos": visit.photos,
            }
            for visit in self.visits
        ]


def _choice(row: HouseholdRow) -> str:
    return f"{row.head_name}（{row.code}）"
