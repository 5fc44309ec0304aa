"""The building blocks every screen uses: made for one thumb, outdoors.

Touch targets are at least 48dp (most 56dp), text at least 16sp, and
colours dark on white with a contrast well above WCAG AA, because phones
are read in the sun. Their look is in widgets.kv.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sized
from datetime import date
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.metrics import dp
from kivy.properties import (
    AliasProperty,
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen
from kivy.uix.togglebutton import ToggleButton
from kivy.uix.widget import Widget
from marshmallow import ValidationError

from mobile.forms import Errors, flatten
from mobile.lines import break_lines

if TYPE_CHECKING:
    from mobile.notebook import Notebook
    from mobile.photos import PhotoPicker

INK = (0.07, 0.07, 0.07, 1)
MUTED = (0.27, 0.27, 0.27, 1)
PAPER = (1, 1, 1, 1)
PRIMARY = (0.02, 0.27, 0.58, 1)
LIGHT = (0.9, 0.91, 0.93, 1)
DANGER = (0.69, 0.0, 0.13, 1)
DANGER_BG = (1, 0.9, 0.91, 1)
WARN = (0.45, 0.28, 0.0, 1)
WARN_BG = (1, 0.93, 0.72, 1)
OK = (0.0, 0.4, 0.18, 1)
BAR = (0.93, 0.95, 0.98, 1)


class ChineseLines:
    """For a Label (or a button) whose text wraps: lines break where the CJK
    rules allow (mobile/lines.py), never before a "，" or after a "（"."""

    def texture_update(self, *largs: Any) -> None:
        label: Any = self
        width = label.text_size[0]
        if width and label.text and not label.markup and not label.shorten:
            core = label._label
            room = width - label.padding[0] - label.padding[2]
            extents = core.get_cached_extents()
            core.text = break_lines(label.text, room, lambda text: extents(text)[0])
        super().texture_update(*largs)  # type: ignore[misc]


class Wrapped(ChineseLines, Label):
    """A plain label whose lines break by the CJK rules."""


class Text(ChineseLines, Label):
    """Body text that wraps to its width and is as tall as it needs."""

    # Room below the text.
    gap = NumericProperty(dp(6))


class Heading(Text):
    pass


class Note(Text):
    """Secondary text: still 16sp and dark enough to read in sunlight."""


class ErrorText(Text):
    """An inline message under a field; takes no room while empty."""


class BigButton(ChineseLines, Button):
    tint = ColorProperty(PRIMARY)


class QuietButton(BigButton):
    pass


class Choice(ChineseLines, ToggleButton):
    """One option of a vocabulary; ``code`` is what gets saved."""

    code = StringProperty("")


class Card(BoxLayout):
    """A tinted block that groups related lines."""


class Tappable(ButtonBehavior, BoxLayout):
    """A row that opens something when tapped."""


class Field(BoxLayout):
    """A labelled text input with its inline error underneath."""

    label = StringProperty("")
    text = StringProperty("")
    hint = StringProperty("")
    error = StringProperty("")
    multiline = BooleanProperty(False)
    password = BooleanProperty(False)
    input_type = StringProperty("text")


class DateField(BoxLayout):
    """A labelled date, picked on a calendar and never typed; today unless set.

    ``text`` reads and sets it as the screens' checks expect: "2026-05-27",
    "" for none (where ``optional``), or "2026-05-27 08:30" where
    ``with_time`` adds the time of day, typed beside it.
    """

    label = StringProperty("")
    error = StringProperty("")
    optional = BooleanProperty(False)
    # What the button says while no date is chosen (where ``optional``).
    empty = StringProperty("")
    with_time = BooleanProperty(False)
    day = StringProperty("")  # ISO, or "" for none
    clock = StringProperty("")  # "08:30"

    def _get_text(self) -> str:
        return f"{self.day} {self.clock}".strip() if self.with_time else self.day

    def _set_text(self, text: str) -> bool:
        self.day, _, self.clock = text.strip().partition(" ")
        return True

    text = AliasProperty(_get_text, _set_text, bind=("day", "clock", "with_time"))

    def __init__(self, **kwargs: Any) -> None:
        self.picker: DatePicker | None = None
        super().__init__(**kwargs)

    def shown(self, lang: str, day: str) -> str:
        """The date on the field's button: 2026年5月27日 星期三 / Wed 27 May 2026."""
        if not day:
            return self.empty
        chosen = date.fromisoformat(day)
        if lang == "zh":
            return (
                f"{chosen.year}年{chosen.month}月{chosen.day}日 星期{WEEKDAYS_ZH[chosen.weekday()]}"
            )
        return chosen.strftime("%a %d %b %Y")

    def pick(self) -> None:
        """Open the calendar on the field's date (or today)."""
        app = App.get_running_app()
        today = app.now().astimezone().date()
        self.picker = DatePicker(field=self, today=today)
        self.picker.month = date.fromisoformat(self.day) if self.day else today
        self.picker.open()

    def chosen(self, day: date | None) -> None:
        self.day = day.isoformat() if day else ""
        if self.picker is not None:
            # At once: a calendar fading out still takes the next tap.
            self.picker.dismiss(animation=False)
            self.picker = None


WEEKDAYS_ZH = "一二三四五六日"


class DatePicker(ModalView):
    """A month of days to tap; days after today cannot be chosen (a visit, or
    what a household remembers, is never in the future)."""

    field = ObjectProperty(None)
    today = ObjectProperty(None)
    month = ObjectProperty(None)  # any day of the month shown

    def on_month(self, *_: Any) -> None:
        grid: GridLayout = self.ids.days
        grid.clear_widgets()
        first = self.month.replace(day=1)
        chosen = self.field.day
        weeks = calendar.Calendar().monthdatescalendar(first.year, first.month)
        # Always six rows: the calendar keeps its size (and its buttons their
        # places) from month to month.
        days = [day for week in weeks for day in week]
        for index in range(42):
            day = days[index] if index < len(days) else None
            if day is None or day.month != first.month:
                grid.add_widget(Label())
                continue
            button = Choice(
                text=str(day.day),
                code=day.isoformat(),
                state="down" if day.isoformat() == chosen else "normal",
                disabled=day > self.today,
            )
            button.bind(
                on_release=lambda button: self.field.chosen(date.fromisoformat(button.code))
            )
            grid.add_widget(button)

    def title(self, lang: str, month: date | None) -> str:
        if month is None:
            return ""
        if lang == "zh":
            return f"{month.year}年{month.month}月"
        return month.strftime("%B %Y")

    def weekdays(self, lang: str) -> list[str]:
        return list(WEEKDAYS_ZH) if lang == "zh" else ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]

    def turn(self, months: int) -> None:
        """Show the month before (-1) or after (+1)."""
        index = self.month.year * 12 + self.month.month - 1 + months
        self.month = date(index // 12, index % 12 + 1, 1)


class ChoiceGroup(BoxLayout):
    """Toggle buttons for a vocabulary: one choice (``group`` set) or several."""

    options = ListProperty()  # [(code, label), ...]
    group = StringProperty("")
    selected = ListProperty()  # codes
    error = StringProperty("")
    label = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        # True while the buttons are being set to match ``selected``.
        self._showing = False
        super().__init__(**kwargs)

    def on_options(self, *_: Any) -> None:
        box = self.ids.choices
        box.clear_widgets()
        for code, label in self.options:
            choice = Choice(code=code, text=label, group=self.group or None)
            choice.bind(state=self._chosen)
            box.add_widget(choice)
        self.on_selected()

    def on_selected(self, *_: Any) -> None:
        self._showing = True
        try:
            for choice in self.ids.choices.children:
                choice.state = "down" if choice.code in self.selected else "normal"
        finally:
            self._showing = False

    def _chosen(self, _choice: Choice, _state: str) -> None:
        if not self._showing:
            self.selected = [
                c.code for c in reversed(self.ids.choices.children) if c.state == "down"
            ]

    @property
    def value(self) -> str | None:
        """The one chosen code, for a single-choice group."""
        return self.selected[0] if self.selected else None


class TopBar(BoxLayout):
    title = StringProperty("")
    back = BooleanProperty(True)


class StatusBar(Tappable):
    """Records waiting to sync and the last sync time, on every main screen."""


class Page(Screen):
    """A screen of the app. ``show`` is called with its parameters on the way in."""

    app = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = App.get_running_app()
        # What the screen was last shown with, to come back to it.
        self.params: dict[str, Any] = {}

    def show(self, **params: Any) -> None:
        """Fill the screen (by asking the app's workers) for ``params``."""


class FormPage(Page):
    """A screen whose form the notebook saves on the store's thread; what it
    refuses goes beside the fields, by the screen's ``show_errors``."""

    def photos_preparing(self, *pickers: PhotoPicker) -> bool:
        """True (and asks to wait) while a photo is still being made ready."""
        if any(picker.preparing for picker in pickers):
            self.app.say(self.app.t("photo.wait"))
            return True
        return False

    def save_with(
        self, job: Callable[[Notebook], Any], saved_key: str, then: Callable[[], None]
    ) -> None:
        """Run ``job``; once it has saved, say ``saved_key`` and ``then()``."""

        def saved(_result: Any) -> None:
            self.app.saved(saved_key)
            then()

        self.app.call(job, saved, self.refused)

    def refused(self, error: BaseException) -> None:
        """The notebook's validation messages beside their fields; anything else said plainly."""
        if isinstance(error, ValidationError):
            # A refusal with no field of its own still shows, as the form's.
            self.show_errors(flatten(error.messages) or {"_schema": str(error)})
        else:
            self.app.show_error(error)

    def show_errors(self, errors: Errors) -> bool:
        """Put each message next to its field (none where ``errors`` has none); True if any."""
        raise NotImplementedError


def show_field_errors(
    ids: Any, errors: Errors, pick: Callable[[str], str], *names: str, **renamed: str
) -> None:
    """Each field's message under it, or none: ``names`` are the ids of fields
    whose errors bear their name; ``renamed`` maps an id to its errors' key."""
    keys = {name: name for name in names} | renamed
    for name, key in keys.items():
        ids[name].error = pick(errors[key]) if key in errors else ""


def clear_list(box: Widget, items: Sized, nothing: str) -> None:
    """Empty ``box`` to list ``items`` in; when there are none, a note ``nothing`` says so."""
    box.clear_widgets()
    if not items:
        box.add_widget(Note(text=nothing))
