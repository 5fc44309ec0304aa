"""New visit: what was done, and any number of issues raised. Saved locally at once."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock, ClockEvent
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from mobile.forms import Errors, IssueInput, VisitInput, check_visit, show_time
from mobile.photos import PhotoPicker
from mobile.widgets import FormPage, show_field_errors
from shared.vocab import IssueCategory, IssueStatus, VisitKind, VisitRole

# How an issue stands when it is written down.
OUTCOMES = (IssueStatus.OPEN, IssueStatus.SOLVED_ON_SPOT, IssueStatus.PASSED_TO_DEPARTMENT)
OUTCOME_KEYS = ("issue.open", "issue.solved_on_spot", "issue.passed")


class IssueForm(BoxLayout):
    number = NumericProperty(1)

    @property
    def photos(self) -> PhotoPicker:
        picker: PhotoPicker = self.ids.photos
        return picker

    def value(self) -> IssueInput:
        return IssueInput(
            category=self.ids.category.value,
            description=self.ids.description.text,
            status=self.ids.outcome.value or IssueStatus.OPEN.value,
            department=self.ids.department.text,
        )

    def show_errors(self, errors: Errors, pick: Any) -> None:
        fields = ("category", "description", "department")
        show_field_errors(self.ids, errors, pick, *fields, outcome="status")


class VisitScreen(FormPage):
    household_id = StringProperty("")
    head_name = StringProperty("")
    location_text = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watch_location: ClockEvent | None = None
        self.app.bind(lang=lambda *_: self._label_choices())

    def show(self, **params: Any) -> None:
        self.household_id = params["household_id"]
        self.head_name = params.get("head_name", "")
        ids = self.ids
        ids.when.text = show_time(self.app.now())
        ids.kind.selected = [VisitKind.HOME_VISIT.value]
        ids.roles.selected = []
        ids.topics.text = ""
        ids.notes.text = ""
        ids.photos.clear()
        ids.issues.clear_widgets()
        self.message = ""
        self.show_errors({})
        self._label_choices()
        self.app.locator.start()
        self._watch_location = Clock.schedule_interval(lambda _dt: self._locate(), 2)
        self._locate()

    def on_leave(self, *_: Any) -> None:
        if self._watch_location is not None:
            self._watch_location.cancel()
        self.app.locator.stop()

    def _locate(self) -> None:
        fix = self.app.locator.fix
        where = f"{fix[0]:.5f}, {fix[1]:.5f}" if fix else self.app.t("visit.no_location")
        self.location_text = self.app.t("visit.location", where=where)

    def _label_choices(self) -> None:
        lang = self.app.lang
        self.ids.kind.options = [(kind.value, kind.label(lang)) for kind in VisitKind]
        self.ids.roles.options = [(role.value, role.label(lang)) for role in VisitRole]
        for form in self.ids.issues.children:
            self._label_issue(form)
        self._locate()

    def _label_issue(self, form: IssueForm) -> None:
        lang = self.app.lang
        form.ids.category.options = [(c.value, c.label(lang)) for c in IssueCategory]
        form.ids.outcome.options = [
            (status.value, self.app.t(key))
            for status, key in zip(OUTCOMES, OUTCOME_KEYS, strict=True)
        ]

    def add_issue(self) -> None:
        form = IssueForm(number=len(self.ids.issues.children) + 1)
        self._label_issue(form)
        form.ids.outcome.selected = [IssueStatus.OPEN.value]
        self.ids.issues.add_widget(form)
        self.ids.scroller.scroll_to(form, animate=False)

    def remove_issue(self, form: IssueForm) -> None:
        self.ids.issues.remove_widget(form)
        for number, remaining in enumerate(self._issue_forms(), start=1):
            remaining.number = number

    def _issue_forms(self) -> list[IssueForm]:
        return list(reversed(self.ids.issues.children))

    def save(self) -> None:
        ids = self.ids
        if self.photos_preparing(ids.photos, *(form.photos for form in self._issue_forms())):
            return
        typed = VisitInput(
            when=ids.when.text,
            kind=ids.kind.value or VisitKind.HOME_VISIT.value,
            roles=list(ids.roles.selected),
            topics=ids.topics.text,
            notes=ids.notes.text,
            issues=[form.value() for form in self._issue_forms()],
        )
        visit, errors = check_visit(typed, self.app.now())
        if self.show_errors(errors):
            return
        # Each issue's photos go with it; all are saved with the visit, at once.
        for issue, form in zip(visit["issues"], self._issue_forms(), strict=True):
            issue["photos"] = form.photos.jpegs
        photos: PhotoPicker = ids.photos
        visit["photos"] = photos.jpegs
        fix = self.app.locator.fix
        household_id = self.household_id
        self.save_with(
            lambda notebook: notebook.record_visit(household_id, location=fix, **visit),
            "visit.saved",
            then=self.app.back,
        )

    def refused(self, error: BaseException) -> None:
        if isinstance(error, KeyError):
            self.message = self.app.t("error.household_gone")
        elif isinstance(error, ValueError):  # a photo refused: nothing was saved
            self.message = self.app.pick(str(error))
        else:
            super().refused(error)

    def show_errors(self, errors: Errors) -> bool:
        pick = self.app.pick
        show_field_errors(
            self.ids, errors, pick, "topics", "notes", "kind", "roles", when="visited_at"
        )
        for number, form in enumerate(self._issue_forms()):
            prefix = f"issues.{number}."
            form.show_errors(
                {
                    key[len(prefix) :]: text
                    for key, text in errors.items()
                    if key.startswith(prefix)
                },
                pick,
            )
        self.message = self.app.t("visit.fix_errors") if errors else ""
        if errors:
            self.app.say(self.message)
        return bool(errors)
