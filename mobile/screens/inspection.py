"""An inspector's spot check (督查) of a household."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from marshmallow import ValidationError

from mobile.forms import INSPECTION_FIELDS, InspectionInput, check_inspection, flatten
from mobile.widgets import Page
from shared.vocab import ProblemSolved, Satisfaction

# The answers the screen asks for (the day is today's).
ANSWERS = tuple(name for name in INSPECTION_FIELDS if name != "inspected_on")


class InspectionScreen(Page):
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
        self._show_errors({})
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
        if self._show_errors(errors):
            return
        household_id = self.household_id
        self.app.call(
            lambda notebook: notebook.record_inspection(household_id, **answers),
            lambda _inspection_id: self._saved(),
            self._refused,
        )

    def _saved(self) -> None:
        self.app.saved("inspection.saved")
        self.app.back()

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self._show_errors(flatten(error.messages))
        else:
            self.app.show_error(error)

    def _show_errors(self, errors: dict[str, str]) -> bool:
        for name in ANSWERS:
            self.ids[name].error = self.app.pick(errors[name]) if name in errors else ""
        self.message = self.app.t("visit.fix_errors") if errors else ""
        return bool(errors)
