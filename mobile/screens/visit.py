"""New visit: what was done, and any number of issues raised. Saved locally at once."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock, ClockEvent
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from marshmallow import ValidationError

from mobile.forms import IssueInput, VisitInput, check_visit, flatten, show_time
from mobile.photos import PhotoPicker
from mobile.widgets import Page
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

    def show_errors(self, errors: dict[str, str], pick: Any) -> None:
        for name in ("category", "description", "department"):
            self.ids[name].error = pick(errors[name]) if name in errors else ""
        self.ids.outcome.error = pick(errors["status"]) if "status" in errors else ""


class VisitScreen(Page):
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
        self._show_errors({})
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
        pickers = [ids.photos, *(form.photos for form in self._issue_forms())]
        if any(picker.preparing for picker in pickers):
            self.app.say(self.app.t("photo.wait"))
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
        if self._show_errors(errors):
            return
        # Each issue's photos go with it; all are saved with the visit, at once.
        for issue, form in zip(visit["issues"], self._issue_forms(), strict=True):
            issue["photos"] = form.photos.jpegs
        photos: PhotoPicker = ids.photos
        visit["photos"] = photos.jpegs
        fix = self.app.locator.fix
        household_id = self.household_id
        self.app.call(
            lambda notebook: notebook.record_visit(household_id, location=fix, **visit),
            lambda _visit_id: self._saved(),
            self._refused,
        )

    def _saved(self) -> None:
        self.app.saved("visit.saved")
        self.app.back()

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self._show_errors(flatten(error.messages) or {"_schema": str(error)})
        elif isinstance(error, KeyError):
            self.message = self.app.t("error.household_gone")
        elif isinstance(error, ValueError):  # a photo refused: nothing was saved
            self.message = self.app.pick(str(error))
        else:
            self.app.show_error(error)

    def _show_errors(self, errors: dict[str, str]) -> bool:
        """Put each message next to its field; True if there were any."""
        pick = self.app.pick
        for name in ("when", "topics", "notes"):
            key = "visited_at" if name == "when" else name
            self.ids[name].error = pick(errors[key]) if key in errors else ""
        self.ids.kind.error = pick(errors["kind"]) if "kind" in errors else ""
        self.ids.roles.error = pick(errors["roles"]) if "roles" in errors else ""
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
