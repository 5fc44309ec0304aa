"""The sync runner: syncs on request, and by itself whenever the server can be reached.

Syncs run on their own worker thread (the network may take long and must
never hold up saving a visit). Every ``interval`` seconds the runner tries
if records are waiting, or if the last try was a while ago (to receive
what others changed); a failed try is simply tried again on a later tick.
Progress and outcomes come back as Kivy properties the screens bind to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kivy.clock import Clock, ClockEvent
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from mobile.notebook import Notebook, Status, SyncOutcome
from mobile.worker import Failed, Worker

# With nothing to send, still look for others' changes this often.
QUIET_SYNC_SECONDS = 5 * 60
# A failed attempt is tried again after this, then twice as long, within one sync.
RETRY_DELAY_SECONDS = 2.0


class SyncRunner(EventDispatcher):
    busy = BooleanProperty(False)
    # "push" or "pull" while busy
    stage = StringProperty("")
    done = NumericProperty(0)
    total = NumericProperty(0)
    received = NumericProperty(0)
    # The last finished sync (a SyncOutcome), for the outcome sentence.
    outcome = ObjectProperty(None, allownone=True)
    # The server refused this device: only a new login helps.
    revoked = BooleanProperty(False)

    def __init__(
        self,
        notebook: Callable[[], Notebook | None],
        failed: Failed,
        interval: float = 60.0,
        finished: Callable[[SyncOutcome], None] | None = None,
    ) -> None:
        super().__init__()
        self._notebook = notebook
        self._on_error = failed
        self._worker = Worker("sync", failed)
        self._interval = interval
        self._finished = finished
        self._stopping = threading.Event()
        self._tick_event: ClockEvent | None = None
        self._last_try = 0.0
        self.retry_delay = RETRY_DELAY_SECONDS
        # Set from the status the app reads after every save and sync.
        self.pending = 0
        self.logged_in = False

    @property
    def worker(self) -> Worker:
        """The network thread: logins run on it too, never alongside a sync."""
        return self._worker

    def start(self) -> None:
        self._stopping.clear()
        if self._interval > 0 and self._tick_event is None:
            self._tick_event = Clock.schedule_interval(self._tick, self._interval)

    def stop(self) -> None:
        """Stop the automatic tries; a sync under way no longer waits between attempts."""
        self._stopping.set()
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None

    def update(self, status: Status) -> None:
        # Photos waiting to go up call for a sync as records do.
        self.pending = status.pending + status.photos_to_send
        self.logged_in = status.logged_in

    def sync_now(self) -> None:
        """Start a sync unless one is running (the button, and after a login)."""
        notebook = self._notebook()
        # A revoked phone waits for a new login (which clears ``revoked``).
        if self.busy or notebook is None or self.revoked:
            return
        self.busy = True
        self.stage, self.done, self.total, self.received = "push", 0, 0, 0
        self._last_try = time.monotonic()
        self._worker.submit(
            lambda: notebook.sync(self._progress, self._stopping.wait, self.retry_delay),
            self._done,
            self._failed,
        )

    def _tick(self, _dt: float) -> None:
        if self.busy or not self.logged_in or self.revoked:
            return
        quiet_for = time.monotonic() - self._last_try
        if self.pending > 0 or quiet_for >= QUIET_SYNC_SECONDS:
            self.sync_now()

    def _progress(self, stage: str, done: int, total: int) -> None:
        """Called on the sync thread: hand the numbers to the UI thread."""

        def show(_dt: float) -> None:
            self.stage = stage
            if stage in ("push", "photos"):
                self.done, self.total = done, total
            else:
                self.received = done

        Clock.schedule_once(show, 0)

    def _done(self, outcome: SyncOutcome) -> None:
        self.busy = False
        self.stage = ""
        self.revoked = outcome.report.revoked
        self.update(outcome.status)
        self.outcome = outcome
        if self._finished is not None:
            self._finished(outcome)

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        self.stage = ""
        self._on_error(error)
