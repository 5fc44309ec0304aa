"""Sync: the button, the progress, and what the last sync did, in plain words."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.widget import Widget

from mobile.notebook import SyncOutcome
from mobile.outcome import describe, rejected_lines, rejected_photo_lines
from mobile.widgets import BigButton, Page, Text


class SyncScreen(Page):
    sentence = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app.bind(lang=lambda *_: self.render())
        self.app.runner.bind(outcome=lambda *_: self.render(), revoked=lambda *_: self.render())

    def show(self, **params: Any) -> None:
        self.app.refresh_status()
        self.render()

    def sync(self) -> None:
        self.app.sync_now()

    def render(self) -> None:
        outcome: SyncOutcome | None = self.app.runner.outcome
        lang = self.app.lang
        self.sentence = describe(outcome, lang) if outcome else ""
        _lines(self.ids.rejected, rejected_lines(outcome, lang) if outcome else [])
        _lines(self.ids.rejected_photos, rejected_photo_lines(outcome, lang) if outcome else [])
        # Only a revoked phone is offered a new login.
        slot = self.ids.login_slot
        slot.clear_widgets()
        if self.app.runner.revoked:
            again = BigButton(text=self.app.t("sync.log_in_again"))
            again.bind(on_release=lambda _button: self.app.go("login"))
            slot.add_widget(again)


def _lines(box: Widget, lines: list[str]) -> None:
    box.clear_widgets()
    for line in lines:
        box.add_widget(Text(text=line))
