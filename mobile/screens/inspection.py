"""An inspector's spot check (督查) of a household."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from mobile.forms import INSPECTION_FIELDS, Errors, InspectionInput, check_inspection
from mobile.widgets import FormPage, show_field_errors
from shared.vocab import ProblemSolved, Satisfaction

# The answers the screen asks for (the day is today's).
ANSWERS = tuple(name for name in INSPECTION_FIELDS if name != "inspected_on")


class InspectionScreen(FormPage):
    household_id = StringProperty("")
    head_name = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app.bind(lang=lambda *_: self._label_choices())

    def show(self, **params: Any) -> None:
        self.household_id = params["household_id"]
        self.head_name = params.get("head_name", "")
        for name in ("knows_cadre", "problem_solved", "satisfaction"):
            self.ids[name].selected = []
        self.ids.last_visit_reported.text = ""
        self.ids.notes.text = ""
        self.show_errors({})
        self._label_choices()

    def _label_choices(self) -> None:
        lang, t = self.app.lang, self.app.t
        self.ids.knows_cadre.options = [("yes", t("inspection.yes")), ("no", t("inspection.no"))]
        self.ids.problem_solved.options = [(p.value, p.label(lang)) for p in ProblemSolved]
        self.ids.satisfaction.options = [(s.value, s.label(lang)) for s in Satisfaction]

    def save(self) -> None:
        ids = self.ids
        knows = ids.knows_cadre.value
        typed = InspectionInput(
            knows_cadre=None if knows is None else knows == "yes",
            last_visit=ids.last_visit_reported.text,
            problem_solved=ids.problem_solved.value,
            satisfaction=ids.satisfaction.value,
            notes=ids.notes.text,
        )
        answers, errors = check_inspection(typed, self.app.now().astimezone().date())
        if self.show_errors(errors):
            return
        household_id = self.household_id
        self.save_with(
            lambda notebook: notebook.record_inspection(household_id, **answers),
            "inspection.saved",
            then=self.app.back,
        )

    def show_errors(self, errors: Errors) -> bool:
        show_field_errors(self.ids, errors, self.app.pick, *ANSWERS)
        self.message = self.app.t("visit.fix_errors") if errors else ""
        return bool(errors)
