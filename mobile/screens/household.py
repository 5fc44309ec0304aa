"""A household: its facts (editable), its contact card, its visits and issues."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from mobile.forms import Errors, HouseholdInput, check_household, show_time
from mobile.notebook import HouseholdView, local_time
from mobile.photos import add_photos
from mobile.widgets import Card, FormPage, Note, QuietButton, Text, clear_list, show_field_errors
from shared.vocab import HouseholdTag

# Enough of a long history to see the pattern; the notebook has the rest.
RECENT_VISITS = 10
EXCERPT = 120


class HouseholdForm(BoxLayout):
    """The facts a cadre may correct: phones, members, address, tags, notes."""


class HouseholdScreen(FormPage):
    household_id = StringProperty("")
    head_name = StringProperty("")
    editing = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: HouseholdView | None = None
        self.form: HouseholdForm | None = None
        self.app.bind(lang=lambda *_: self.render())

    def show(self, **params: Any) -> None:
        self.household_id = params["household_id"]
        self.close_form()
        self.app.call(lambda notebook: notebook.household(self.household_id), self._loaded)

    def _loaded(self, view: HouseholdView | None) -> None:
        if view is None:
            self.app.say(self.app.t("error.household_gone"))
            self.app.back()
            return
        self.view = view
        self.head_name = view.household["head_name"]
        self.render()

    def render(self) -> None:
        if self.view is None:
            return
        self._facts(self.view)
        self._card(self.view)
        self._issues(self.view)
        self._visits(self.view)

    def _facts(self, view: HouseholdView) -> None:
        app, household = self.app, view.household
        tags = [app.label("HouseholdTag", tag) for tag in household.get("tags") or []]
        lines = [
            ("household.code", household.get("code")),
            ("household.place", f"{view.village} {view.grid}".strip()),
            ("household.phones", "、".join(household.get("phones") or [])),
            ("household.members", str(household.get("members") or "")),
            ("household.address", household.get("address")),
            ("household.tags", "、".join(tags)),
            ("household.notes", household.get("notes")),
        ]
        box = self.ids.facts
        box.clear_widgets()
        for key, value in lines:
            box.add_widget(Text(text=f"{app.t(key)}：{value or app.t('none')}"))

    def _card(self, view: HouseholdView) -> None:
        app, card = self.app, view.card
        box = self.ids.card
        box.clear_widgets()
        cadre = " ".join(part for part in (card.unit, card.cadre_name, card.cadre_phone) if part)
        box.add_widget(Text(text=f"{app.t('household.card_cadre')}：{cadre or app.t('none')}"))
        box.add_widget(Text(text=app.t("household.card_services"), bold=True))
        for number in card.service_numbers:
            box.add_widget(Text(text=number))

    def _issues(self, view: HouseholdView) -> None:
        app = self.app
        box = self.ids.issues
        clear_list(box, view.issues, app.t("household.no_issues"))
        for issue in view.issues:
            button = QuietButton(
                text=f"{app.label('IssueCategory', issue['category'])} · "
                f"{app.label('IssueStatus', issue['status'])}\n{_excerpt(issue['description'])}",
            )
            button.bind(on_release=lambda _b, issue_id=issue["id"]: self.open_issue(issue_id))
            box.add_widget(button)
            add_photos(box, view.photos.get(("issue", issue["id"]), []))

    def _visits(self, view: HouseholdView) -> None:
        app = self.app
        box = self.ids.visits
        clear_list(box, view.visits, app.t("household.no_visits"))
        for visit in view.visits[:RECENT_VISITS]:
            card = Card()
            when = show_time(local_time(visit["visited_at"]))
            card.add_widget(
                Text(text=f"{when} · {app.label('VisitKind', visit['kind'])}", bold=True)
            )
            doing = [app.label("VisitRole", role) for role in visit.get("roles") or []]
            what = "、".join(doing + (visit.get("topics") or []))
            if what:
                card.add_widget(Note(text=what))
            if visit.get("notes"):
                card.add_widget(Text(text=_excerpt(visit["notes"])))
            add_photos(card, view.photos.get(("visit", visit["id"]), []))
            box.add_widget(card)
        if len(view.visits) > RECENT_VISITS:
            more = QuietButton(text=app.t("household.all_visits", count=len(view.visits)))
            more.bind(on_release=lambda _b: app.go("notebook", household_id=self.household_id))
            box.add_widget(more)

    def open_issue(self, issue_id: str) -> None:
        self.app.go("issue", issue_id=issue_id)

    # --- editing the facts -------------------------------------------------------------

    def open_form(self) -> None:
        if self.view is None or self.form is not None:
            return
        household = self.view.household
        form = HouseholdForm()
        form.ids.phones.text = "\n".join(household.get("phones") or [])
        form.ids.members.text = str(household.get("members") or "")
        form.ids.address.text = household.get("address") or ""
        form.ids.tags.options = [(tag.value, tag.label(self.app.lang)) for tag in HouseholdTag]
        form.ids.tags.selected = list(household.get("tags") or [])
        form.ids.notes.text = household.get("notes") or ""
        self.form = form
        self.editing = True
        self.ids.form_slot.add_widget(form)

    def close_form(self) -> None:
        if self.form is not None:
            self.ids.form_slot.remove_widget(self.form)
        self.form = None
        self.editing = False

    def save_form(self) -> None:
        if self.view is None or self.form is None:
            return
        ids = self.form.ids
        typed = HouseholdInput(
            phones=ids.phones.text,
            members=ids.members.text,
            address=ids.address.text,
            tags=list(ids.tags.selected),
            notes=ids.notes.text,
        )
        changes, errors = check_household(typed, self.view.household)
        if self.show_errors(errors):
            return
        if not changes:
            self.app.say(self.app.t("household.unchanged"))
            self.close_form()
            return
        household_id = self.household_id
        self.save_with(
            lambda notebook: notebook.edit_household(household_id, **changes),
            "household.saved",
            then=lambda: self.show(household_id=self.household_id),
        )

    def show_errors(self, errors: Errors) -> bool:
        if self.form is None:
            return bool(errors)
        fields = ("phones", "members", "address", "tags", "notes")
        show_field_errors(self.form.ids, errors, self.app.pick, *fields)
        if errors:
            self.app.say(self.app.t("visit.fix_errors"))
        return bool(errors)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
