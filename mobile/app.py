"""The cadre's phone app: the 民情记录本 that works offline and syncs back in town.

The app holds the screens, two worker threads (the local store, and the
network) and the sync runner. Screens ask the app to run a job on the
notebook (mobile/notebook.py) and get the answer back on the UI thread;
they never touch the database themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.logger import Logger
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from mobile.i18n import pick, tr
from mobile.location import Locator
from mobile.notebook import HouseholdRow, Notebook, Status, SyncOutcome
from mobile.outcome import describe
from mobile.runner import SyncRunner
from mobile.screens import SCREENS
from mobile.widgets import PAPER, Page
from mobile.worker import Done, Failed, Worker
from shared import vocab
from sync.lock import LockState

HERE = Path(__file__).resolve().parent
FONT = HERE / "assets" / "fonts" / "NotoSansSC-Regular.otf"
# A county whose server's certificate is not from a public authority (its own,
# or self-signed) puts it here before building the app; the phone trusts it.
COUNTY_CA = HERE / "assets" / "county-ca.pem"
# A message at the foot of the screen stays this long.
NOTICE_SECONDS = 6
# After a save, try to send it this soon (if the server can be reached).
SEND_AFTER_SAVE_SECONDS = 2
# Android's back button arrives as the escape key.
BACK_KEY = 27


def keep_running_on_errors() -> None:
    """In the field, a bug in a screen is logged and said, and the app goes on:
    every saved record is already safe in the store."""

    class KeepRunning(ExceptionHandler):
        def handle_exception(self, exception: BaseException) -> int:
            Logger.exception("Minqing: unexpected error")
            app = App.get_running_app()
            if isinstance(app, MinqingApp):
                app.show_error(exception)
            return int(ExceptionManager.PASS)

    ExceptionManager.add_handler(KeepRunning())


def _load_rules(kv: Path) -> None:
    # A restarted app in the same process must not apply its rules twice.
    if str(kv) not in Builder.files:
        Builder.load_file(str(kv))


class Shell(FloatLayout):
    """The screens, filling the window."""


class MinqingApp(App):
    title = "民情 Minqing"
    lang = StringProperty("zh")
    pending = NumericProperty(0)
    # Photos whose bytes wait to be sent, and their size in KB (rounded up).
    photos_to_send = NumericProperty(0)
    photo_kb_to_send = NumericProperty(0)
    last_sync_ms = NumericProperty(0)
    runner_busy = BooleanProperty(False)
    account = DictProperty({})
    server_url = StringProperty("")
    notice = StringProperty("")
    # What the account may do: record visits (it has a cadre), spot-check (inspector).
    cadre = BooleanProperty(False)
    inspector = BooleanProperty(False)
    # Minutes in the background before the PIN is asked again (set by the county).
    lock_minutes = NumericProperty(5)
    # Said on the login screen: why a login is needed (locked out, or sealing an old store).
    login_note = StringProperty("")

    def __init__(
        self,
        data_dir: Path | None = None,
        server_url: str | None = None,
        auto_sync_seconds: float = 60.0,
        cafile: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # On Android, the app's private storage.
        self.data_dir = Path(data_dir or self.user_data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.initial_server_url = server_url
        # The county's certificate the app was built with, if any (docs/mobile.md).
        self.cafile = cafile or (str(COUNTY_CA) if COUNTY_CA.is_file() else None)
        self.notebook: Notebook | None = None
        self.store = Worker("store", self.show_error)
        self.runner = SyncRunner(
            lambda: self.notebook, self.show_error, auto_sync_seconds, finished=self._synced
        )
        self.locator = Locator()
        self._history: list[tuple[str, dict[str, Any]]] = []
        self._send_soon = Clock.create_trigger(
            lambda _dt: self.runner.sync_now(), SEND_AFTER_SAVE_SECONDS
        )
        self._auto_sync = auto_sync_seconds > 0
        self._clear_notice = Clock.create_trigger(self._forget_notice, NOTICE_SECONDS)
        # Set by a login until its first download has finished.
        self._downloading = False
        # Set when the cadre asked for a sync: its outcome is then shown as a notice.
        self._announce = False
        # When the app went to the background, and whether the PIN was asked on return.
        self._paused_at: float | None = None
        self._relocked = False

    # --- set-up ----------------------------------------------------------------

    def build(self) -> Shell:
        # Open the store and read the household list while the UI is built.
        self.store.submit(self._open, self._opened)
        # The CJK font replaces Kivy's default, so every widget can show Chinese.
        LabelBase.register(DEFAULT_FONT, fn_regular=str(FONT))
        _load_rules(HERE / "widgets.kv")
        _load_rules(HERE / "photos.kv")
        _load_rules(HERE / "app.kv")
        Window.clearcolor = PAPER
        Window.bind(on_keyboard=self._key)
        self.runner.bind(busy=self.setter("runner_busy"))
        shell = Shell()
        shell.ids.screens.transition = NoTransition()
        return shell

    def on_start(self) -> None:
        self.root.ids.screens.current = self.screen("households").name

    def on_stop(self) -> None:
        self.runner.stop()
        self.locator.stop()
        Window.unbind(on_keyboard=self._key)
        notebook, self.notebook = self.notebook, None
        if notebook is not None:
            # After any save still queued, on the store's own thread.
            self.store.submit(notebook.close)

    def on_pause(self) -> bool:
        self._paused_at = time.monotonic()
        return True  # keep running in the background; the store is already safe

    def on_resume(self) -> None:
        """Back from the background: after the county's minutes, the PIN again."""
        paused_at, self._paused_at = self._paused_at, None
        current = self.root.ids.screens.current
        if paused_at is None or current in ("pin", "login") or self.notebook is None:
            return
        if time.monotonic() - paused_at >= self.lock_minutes * 60:
            self._relocked = True
            self.go("pin", mode="unlock")

    def _open(self) -> tuple[Notebook, Status]:
        notebook = Notebook(self.data_dir / "minqing.db", self.initial_server_url, self.cafile)
        return notebook, notebook.status()

    def _opened(self, opened: tuple[Notebook, Status]) -> None:
        self.notebook, status = opened
        self.lang = status.lang
        self.apply_status(status)
        if status.lock is LockState.LOCKED:
            self.go("pin", remember=False, mode="unlock")
            return
        if status.lock is LockState.NEEDS_LOGIN:
            self.login_note = self.t("pin.locked_out" if status.locked_out else "pin.login_again")
        elif status.logged_in:
            # A store from before encryption: sealed at this login.
            self.login_note = self.t("pin.sealing")
        self.go("login", remember=False)

    # --- the PIN lock ------------------------------------------------------------------

    def pin_set(self, status: Status) -> None:
        """The PIN chosen after a login: now download (or send what waited)."""
        self.apply_status(status)
        self._download()

    def unlocked(self, opened: tuple[Status, list[HouseholdRow]]) -> None:
        status, households = opened
        self.apply_status(status)
        if self._relocked:
            # Back to the screen as it was left: a half-typed visit stays as typed.
            self._relocked = False
            name, _params = self._history.pop()
            self.root.ids.screens.current = name
            return
        self.runner.start()
        self.go("households", remember=False)
        self.screen("households").show_rows(households)

    def wiped(self) -> None:
        """Reported lost: the store is erased; say so plainly on the login screen."""
        self.runner.stop()
        self._downloading = self._announce = self._relocked = False
        self._history.clear()
        self.login_note = self.t("lost.wiped")
        self.go("login", remember=False)

    def locked_out(self) -> None:
        """Too many wrong PINs: only a login with the password opens the data."""
        self.runner.stop()
        self._relocked = False
        self._history.clear()
        self.login_note = self.t("pin.locked_out")
        self.refresh_status()
        self.go("login", remember=False)

    # --- running jobs off the UI thread --------------------------------------------

    def call(
        self,
        job: Callable[[Notebook], Any],
        done: Done | None = None,
        failed: Failed | None = None,
    ) -> None:
        """Run ``job(notebook)`` on the store's thread; ``done(result)`` back here."""
        notebook = self.notebook
        if notebook is None:
            return
        self.store.submit(lambda: job(notebook), done, failed)

    def saved(self, message_key: str) -> None:
        """After a local save: say so, update the counts, and send it when possible."""
        self.say(self.t(message_key))
        self.refresh_status()
        if self._auto_sync:
            self._send_soon()

    def refresh_status(self) -> None:
        self.call(lambda notebook: notebook.status(), self.apply_status)

    def apply_status(self, status: Status) -> None:
        self.pending = status.pending
        self.photos_to_send = status.photos_to_send
        self.photo_kb_to_send = -(-status.photo_bytes_to_send // 1024)
        self.last_sync_ms = status.last_sync_ms
        self.account = status.account
        self.cadre = bool(status.account.get("cadre_id"))
        self.inspector = status.account.get("role") == vocab.AccountRole.INSPECTOR
        self.server_url = status.server_url
        self.lock_minutes = status.lock_minutes
        self.runner.update(status)

    def now(self) -> datetime:
        """The phone's time (corrected by the server's); held in memory, no I/O."""
        return self.notebook.now() if self.notebook else datetime.now(UTC)

    # --- login and sync ----------------------------------------------------------------

    def log_in(
        self, server_url: str, username: str, password: str, device_name: str, failed: Failed
    ) -> None:
        """Register the phone (on the network thread), then download its households."""
        notebook = self.notebook
        if notebook is None:
            return
        self.runner.worker.submit(
            lambda: notebook.login(server_url, username, password, device_name),
            self._logged_in,
            failed,
        )

    def sync_now(self) -> None:
        """The sync button: sync, and say what came of it."""
        self._announce = True
        self.runner.sync_now()

    def _logged_in(self, status: Status) -> None:
        self.apply_status(status)
        self.runner.revoked = False
        self.login_note = ""
        if status.lock is LockState.NEEDS_PIN:
            self.go("pin", remember=False, mode="set")
            return
        self._download()

    def _download(self) -> None:
        """After a login: send what waits and receive the scope, then the households."""
        self._downloading = True
        self.runner.start()
        self.sync_now()

    def _synced(self, outcome: SyncOutcome) -> None:
        self.apply_status(outcome.status)
        if outcome.report.lost:
            self.wiped()
            return
        if self._announce:
            self._announce = False
            # The sync screen shows the outcome itself.
            if self.root.ids.screens.current != "sync":
                self.say(describe(outcome, self.lang))
        if self._downloading:
            self._downloading = False
            self._history.clear()
            self.go("households", remember=False)
        elif self.root.ids.screens.current == "households":
            self.screen("households").show()

    # --- navigation ----------------------------------------------------------------------

    def screen(self, name: str) -> Page:
        """The screen ``name``, made (and its rules read) the first time it is needed."""
        manager: ScreenManager = self.root.ids.screens
        if not manager.has_screen(name):
            _load_rules(HERE / "screens" / f"{name}.kv")
            manager.add_widget(SCREENS[name](name=name))
        page: Page = manager.get_screen(name)
        return page

    def go(self, name: str, remember: bool = True, **params: Any) -> None:
        manager: ScreenManager = self.root.ids.screens
        if remember:
            current = manager.current_screen
            self._history.append((current.name, getattr(current, "params", {})))
        page = self.screen(name)
        page.params = params
        manager.current = name
        page.show(**params)

    def back(self) -> None:
        if not self._history:
            self.go("households", remember=False)
            return
        name, params = self._history.pop()
        self.go(name, remember=False, **params)

    def _key(self, _window: Any, key: int, *_: Any) -> bool:
        if key != BACK_KEY:
            return False
        current = self.root.ids.screens.current
        # The PIN screen is never left by going back: that would pass the lock.
        if current in ("households", "pin") or not self._history:
            return False  # let Android put the app in the background
        self.back()
        return True

    # --- words ------------------------------------------------------------------------------

    def t(self, key: str, lang: str | None = None, **values: Any) -> str:
        """A string of the UI; kv passes ``app.lang`` so language switches redraw it."""
        return tr(key, lang or self.lang, **values)

    def label(self, vocabulary: str, code: str | None, lang: str | None = None) -> str:
        """The label of a code of shared/vocab.py (``label('IssueStatus', 'open')``)."""
        if not code:
            return tr("none", lang or self.lang)
        enum: type[vocab.Labelled] = getattr(vocab, vocabulary)
        return enum(code).label(lang or self.lang)

    def pick(self, message: str) -> str:
        return pick(message, self.lang)

    def switch_language(self) -> None:
        lang = self.lang = "en" if self.lang == "zh" else "zh"
        self.call(lambda notebook: notebook.set_language(lang))

    def last_sync_text(self, lang: str, last_sync_ms: float) -> str:
        if not last_sync_ms:
            return tr("status.never_synced", lang)
        when = time.strftime("%m-%d %H:%M", time.localtime(last_sync_ms / 1000))
        return tr("status.last_sync", lang, when=when)

    def progress_text(self, lang: str, stage: str, done: int, total: int, received: int) -> str:
        if stage == "push":
            return tr("sync.pushing", lang, done=done, total=total)
        if stage == "pull":
            return tr("sync.pulling", lang, received=received)
        if stage == "photos":
            return tr("sync.sending_photos", lang, done=done, total=total)
        return ""

    def progress_fraction(self, stage: str, done: int, total: int, received: int) -> float:
        """How far a sync has come, for its bar. Sending is counted exactly;
        receiving has no known end, so the bar fills ever more slowly."""
        if stage == "push":
            return 0.5 * done / total if total else 0.0
        if stage == "pull":
            return 0.5 + 0.5 * received / (received + 500)
        if stage == "photos":
            return done / total if total else 0.0
        return 0.0

    def say(self, message: str) -> None:
        """A short message at the foot of the screen."""
        self.notice = message
        self._clear_notice()

    def _forget_notice(self, _dt: float) -> None:
        self.notice = ""

    def show_error(self, error: BaseException) -> None:
        """Anything unexpected from a worker: said plainly, never a crash."""
        self.say(self.t("error.unexpected", message=pick(str(error), self.lang)))
