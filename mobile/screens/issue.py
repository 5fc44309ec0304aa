"""Issue follow-up: a note, a new status, and telling the household the outcome."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from mobile.forms import Errors, check_follow_up, show_time
from mobile.notebook import IssueView, local_time
from mobile.photos import PhotoPicker, add_photos
from mobile.widgets import Card, FormPage, Note, Text, clear_list, show_field_errors
from shared.vocab import IssueStatus

# The moves a cadre makes after the visit; "household informed" has its own button.
NEXT_STATUSES = (
    IssueStatus.IN_PROGRESS,
    IssueStatus.PASSED_TO_DEPARTMENT,
    IssueStatus.SOLVED,
)


class IssueScreen(FormPage):
    issue_id = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: IssueView | None = None
        self.app.bind(lang=lambda *_: self.render())

    def show(self, **params: Any) -> None:
        self.issue_id = params["issue_id"]
        self.ids.note.text = ""
        self.ids.department.text = ""
        self.ids.status.selected = []
        self.ids.photos.clear()
        self.message = ""
        self.show_errors({})
        self.app.call(lambda notebook: notebook.issue(self.issue_id), self._loaded)

    def _loaded(self, view: IssueView | None) -> None:
        self.view = view
        self.render()

    def render(self) -> None:
        app = self.app
        self.ids.status.options = [(s.value, s.label(app.lang)) for s in NEXT_STATUSES]
        if self.view is None:
            return
        issue = self.view.issue
        head = self.ids.header
        head.clear_widgets()
        head.add_widget(
            Text(
                text=f"{self.view.head_name} · {app.label('IssueCategory', issue['category'])}",
                bold=True,
            )
        )
        head.add_widget(Text(text=issue["description"]))
        head.add_widget(
            Text(
                text=app.t("followup.status", status=app.label("IssueStatus", issue["status"])),
                bold=True,
            )
        )
        if issue.get("department"):
            head.add_widget(Text(text=app.t("followup.department", department=issue["department"])))
        raised = show_time(local_time(issue["raised_at"]))
        head.add_widget(Note(text=app.t("followup.raised", when=raised)))
        photos = self.view.photos
        add_photos(head, photos.get(("issue", issue["id"]), []))
        box = self.ids.events
        clear_list(box, self.view.events, app.t("followup.no_history"))
        for event in self.view.events:
            card = Card()
            when = show_time(local_time(event["at"]))
            status = (
                f" · {app.label('IssueStatus', event['status'])}" if event.get("status") else ""
            )
            card.add_widget(Text(text=f"{when}{status}", bold=True))
            if event.get("department"):
                card.add_widget(Note(text=event["department"]))
            if event.get("note"):
                card.add_widget(Text(text=event["note"]))
            add_photos(card, photos.get(("issue_event", event["id"]), []))
            box.add_widget(card)

    def save(self, status: str | None = None) -> None:
        """Record the note and the chosen status (or ``status``, for the informed button)."""
        status = status or self.ids.status.value
        picker: PhotoPicker = self.ids.photos
        if self.photos_preparing(picker):
            return
        event, errors = check_follow_up(self.ids.note.text, status, self.ids.department.text)
        if self.show_errors(errors):
            return
        issue_id = self.issue_id
        photos = picker.jpegs
        self.save_with(
            lambda notebook: notebook.follow_up(issue_id, photos=photos, **event),
            "followup.saved",
            then=lambda: self.show(issue_id=self.issue_id),
        )

    def told_household(self) -> None:
        self.save(IssueStatus.HOUSEHOLD_INFORMED.value)

    def refused(self, error: BaseException) -> None:
        if isinstance(error, ValueError):  # a photo refused: nothing was saved
            self.message = self.app.pick(str(error))
        else:
            super().refused(error)

    def show_errors(self, errors: Errors) -> bool:
        show_field_errors(self.ids, errors, self.app.pick, "note", "department", "status")
        self.message = self.app.t("visit.fix_errors") if errors else ""
        return bool(errors)
