"""Background threads for the phone's slow work: the local store and the network.

The UI thread never waits on SQLite or on the network. A Worker runs its
jobs one after another on its own thread and hands each result (or error)
back to the UI thread through Kivy's Clock. Its thread is a daemon: the app
may be killed at any moment, and the store commits every operation whole,
so nothing has to be waited for at exit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.logger import Logger

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Worker:
    """One thread running jobs in order; results come back on the UI thread."""

    def __init__(self, name: str, failed: Failed) -> None:
        self.name = name
        self._default_failed = failed
        self._jobs: queue.Queue[tuple[Callable[[], Any], Done | None, Failed | None]] = (
            queue.Queue()
        )
        # Jobs submitted whose answer has not yet reached the UI thread.
        # Only the UI thread changes it, so it needs no lock.
        self.in_flight = 0
        threading.Thread(target=self._run, name=f"minqing-{name}", daemon=True).start()

    def submit(
        self, job: Callable[[], Any], done: Done | None = None, failed: Failed | None = None
    ) -> None:
        """Run ``job`` on the worker's thread, then ``done(result)`` on the UI thread."""
        self.in_flight += 1
        self._jobs.put((job, done, failed))

    @property
    def idle(self) -> bool:
        return self.in_flight == 0

    def _run(self) -> None:
        while True:
            job, done, failed = self._jobs.get()
            try:
                result = job()
            except Exception as error:  # every failure goes to the screen, none kills the thread
                Logger.exception(f"Minqing: {self.name} job failed")
                self._answer(failed or self._default_failed, error)
            else:
                self._answer(done, result)

    def _answer(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        def deliver(_dt: float) -> None:
            self.in_flight -= 1
            if callback is not None:
                callback(value)

        Clock.schedule_once(deliver, 0)
