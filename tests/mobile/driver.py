"""Driving the phone app like a thumb does: touches on widgets, frames in between."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.lang.parser import global_idmap
from kivy.tests.common import UnitTestTouch
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from mobile.app import MinqingApp
from mobile.i18n import NO_BREAK_SPACE
from mobile.widgets import ChoiceGroup, DateField, Field, Page
from tests.server.sync.world import PASSWORD

# The PIN the driver chooses after a login, and types at each start.
PIN = "2580"


class Phone:
    """One app instance on one phone's data folder, with a thumb and a camera."""

    def __init__(self, data_dir: Path, server_url: str, artifacts: Path) -> None:
        self.data_dir = data_dir
        self.server_url = server_url
        self.artifacts = artifacts
        self.app: MinqingApp | None = None

    # --- life cycle ---------------------------------------------------------------

    def start(self, unlock: bool = True) -> MinqingApp:
        """Open the app as a cadre does, and wait until it shows its first screen
        (past the PIN, typed as the cadre would, unless ``unlock`` is False)."""
        self.app = MinqingApp(self.data_dir, server_url=self.server_url, auto_sync_seconds=0)
        self.app._run_prepare()
        self.wait_until(lambda: self.app is not None and self.app.notebook is not None)
        self.settle()
        assert _kv_app() is self.app, "kv's `app` is still an earlier app"
        if unlock and self.screen.name == "pin":
            self.enter_pin(PIN)
            assert self.screen.name == "households", self.texts()
        return self.app

    def stop(self, closing: bool = True) -> None:
        """Leave the app. Without ``closing``, it is dropped as a killed app would be."""
        app = self.app
        if app is None:
            return
        if closing:
            app.dispatch("on_stop")
            self.wait_until(lambda: app.store.idle)
        else:
            app.runner.stop()
        for child in list(Window.children):
            Window.remove_widget(child)
        App._running_app = None
        # kv's ``app`` keeps the app it found running until that app stops. A
        # killed app never stops, and a kv rule run by a late clock event after
        # on_stop (a notice clearing itself) finds this app again: the next app
        # would run this one's handlers. A real app ends with its process.
        object.__setattr__(global_idmap["app"], "_obj", None)
        self.app = None

    def restart(self, closing: bool = True, unlock: bool = True) -> MinqingApp:
        self.stop(closing)
        return self.start(unlock)

    # --- time passing ----------------------------------------------------------------

    def frames(self, seconds: float = 0.0, count: int = 2) -> None:
        """Turn the event loop at least ``count`` times and for ``seconds``."""
        end = time.monotonic() + seconds
        done = 0
        while done < count or time.monotonic() < end:
            EventLoop.idle()
            done += 1

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {condition}")
            EventLoop.idle()

    def steady(self, widget: Widget) -> None:
        """Until ``widget`` and its children stay where they are from one frame
        to the next (a popup laying itself out moves what a finger aims at)."""

        def places() -> list[tuple[float, float, float, float]]:
            return [(*w.to_window(*w.pos), *w.size) for w in widget.walk(restrict=True)]

        deadline = time.monotonic() + 20
        seen, still = places(), 0
        # New widgets wait a frame or two at (0, 0) before their layout runs.
        while still < 3:
            assert time.monotonic() < deadline, f"{widget} never stopped moving"
            self.frames(count=1)
            now = places()
            still = still + 1 if now == seen else 0
            seen = now

    def settle(self, timeout: float = 30.0) -> None:
        """Until both workers have answered and the screen has been laid out."""
        app = self.running
        self.wait_until(lambda: app.store.idle and app.runner.worker.idle, timeout)
        self.frames(count=3)

    # --- looking ---------------------------------------------------------------------

    @property
    def running(self) -> MinqingApp:
        assert self.app is not None, "the app is not running"
        return self.app

    @property
    def screen(self) -> Page:
        page: Page = self.running.root.ids.screens.current_screen
        return page

    def ids(self, name: str) -> Any:
        return self.screen.ids[name]

    def texts(self, root: Widget | None = None) -> str:
        """Every text shown under ``root`` (the whole app by default), one per line."""
        found = []
        for widget in (root or self.running.root).walk(restrict=True):
            text = getattr(widget, "text", None)
            if isinstance(text, str) and text and widget.opacity > 0:
                found.append(text)
        return plain("\n".join(found))

    def read(self, name: str, attribute: str = "text") -> str:
        """What the widget with id ``name`` shows (its text, or its ``error``)."""
        return plain(str(getattr(self.ids(name), attribute)))

    def screenshot(self, name: str) -> Path:
        self.frames(count=2)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        # Kivy numbers its screenshots (name0001.png); give it its plain name.
        taken = Window.screenshot(name=str(self.artifacts / f"{name}.png"))
        Path(taken).replace(path)
        return path

    # --- touching ----------------------------------------------------------------------

    def tap(self, widget: Widget) -> None:
        """Put a finger on the widget's centre and lift it; wait for what it started."""
        scroller = _scroller_of(widget)
        # A RecycleView only lays out the rows on screen: no scroll_to. (Its
        # class is compared by name: Kivy's Factory imports the module twice.)
        if scroller is not None and type(scroller).__name__ != "RecycleView":
            scroller.scroll_to(widget, padding=40, animate=False)
            self.frames(count=3)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        if scroller is not None:
            # A ScrollView hands a touch to its children once it is sure it is
            # no scroll: after scroll_timeout (20 ms here, see conftest.py) and
            # three frames. Lifted sooner, the tap reaches them only 0.2 s
            # later, by the clock; so the finger stays until it has.
            self.wait_until(lambda: not _grabbed_by(touch, scroller))
        else:
            self.frames(count=1)
        touch.touch_up()
        self.settle()

    def press(self, text: str, root: Widget | None = None) -> None:
        """Tap the button showing ``text``."""
        self.tap(self.find(text, root))

    def find(self, text: str, root: Widget | None = None) -> Widget:
        matches = [
            widget
            for widget in (root or self.screen).walk(restrict=True)
            if getattr(widget, "text", None) == text and hasattr(widget, "on_release")
        ]
        assert matches, f"no button {text!r} on {self.screen.name}"
        return matches[0]

    def type(self, field: Field | Widget, text: str) -> None:
        """Tap a field and type into it, replacing what was there."""
        box = field.ids.input if isinstance(field, Field) else field
        self.tap(box)
        box.select_all()
        box.delete_selection()
        box.insert_text(text)
        self.frames(count=1)

    def pick_date(self, field: DateField, day: date | None) -> None:
        """Open the field's calendar, turn to the month of ``day`` and tap it
        (``None``: tap the button for no date)."""
        self.tap(field.ids.button)
        picker = field.picker
        assert picker is not None, "the calendar opened"
        self.steady(picker)
        if day is None:
            self.tap(picker.ids.any)
            return
        while (picker.month.year, picker.month.month) != (day.year, day.month):
            earlier = (day.year, day.month) < (picker.month.year, picker.month.month)
            self.tap(picker.ids.earlier if earlier else picker.ids.later)
            self.steady(picker.ids.days)
        target = next(
            b for b in picker.ids.days.children if getattr(b, "code", "") == day.isoformat()
        )
        self.tap(target)
        assert field.picker is None, "the calendar closed"

    def choose(self, group: ChoiceGroup, code: str) -> None:
        choice = next(c for c in group.ids.choices.children if c.code == code)
        self.tap(choice)

    # --- a cadre's usual moves -------------------------------------------------------------

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        """From the login screen to the downloaded household list."""
        assert self.screen.name == "login"
        self.type(self.ids("username"), username)
        self.type(self.ids("password"), password)
        self.tap(self.ids("log_in"))
        self.wait_until(lambda: self.screen.name in ("pin", "households"))
        if self.screen.name == "pin":
            self.choose_pin(PIN)
        self.wait_until(lambda: self.screen.name == "households")
        self.settle()

    def notice_cleared(self) -> None:
        """The notice gone from the status bar, as it goes by itself after a few seconds."""
        self.running.notice = ""
        self.frames()

    def choose_pin(self, pin: str) -> None:
        """On the PIN screen after a login: the PIN, twice."""
        assert self.screen.name == "pin" and self.screen.mode == "set"
        self.type(self.ids("pin"), pin)
        self.type(self.ids("again"), pin)
        self.tap(self.ids("ok"))

    def enter_pin(self, pin: str) -> None:
        assert self.screen.name == "pin" and self.screen.mode == "unlock"
        self.type(self.ids("pin"), pin)
        self.tap(self.ids("ok"))

    def open_household(self, name: str) -> None:
        """Search "My households" for ``name`` and tap its row."""
        if self.screen.name != "households":
            self.running.go("households", remember=False)
            self.settle()
        self.type(self.ids("search"), name)
        line = next(view for view in self.ids("list").layout_manager.children if view.name == name)
        self.tap(line)
        assert self.screen.name == "household"

    def record_visit(self, name: str, notes: str, issues: tuple[tuple[str, str], ...] = ()) -> None:
        """A visit to household ``name`` with (category, description) issues, left open."""
        self.open_household(name)
        self.tap(self.ids("new_visit"))
        self.type(self.ids("notes"), notes)
        for category, description in issues:
            self.tap(self.ids("add_issue"))
            form = self.screen._issue_forms()[-1]
            self.choose(form.ids.category, category)
            self.type(form.ids.description, description)
        self.tap(self.ids("save"))
        assert self.screen.name == "household", self.texts()

    def sync(self) -> str:
        """Press "Sync now" on the sync screen; the outcome sentence.

        The app also syncs by itself while records wait: the answer is that
        of a sync that ends after the press, whichever of them started it.
        """
        runner = self.running.runner
        self.running.go("sync")
        self.settle()
        self.wait_until(lambda: not runner.busy)
        before = runner.outcome
        self.tap(self.ids("sync_now"))
        self.wait_until(lambda: runner.outcome is not before and not runner.busy)
        self.settle()
        return self.read("sentence")


def plain(text: str) -> str:
    """Text as a test writes it: the app's Chinese uses no-break spaces."""
    return text.replace(NO_BREAK_SPACE, " ")


def _kv_app() -> App | None:
    """The app kv rules' ``app`` stands for (looked at without resolving it)."""
    app: App | None = object.__getattribute__(global_idmap["app"], "_obj")
    return app


def _grabbed_by(touch: UnitTestTouch, widget: Widget) -> bool:
    return any(grabber() is widget for grabber in touch.grab_list)


def _scroller_of(widget: Widget) -> ScrollView | None:
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, ScrollView):
            return parent
        parent = parent.parent
    return None
