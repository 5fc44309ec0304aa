"""Where the phone is, when it can tell: plyer's GPS on Android, nothing on a desktop.

Location is a bonus on a visit, never a condition: every failure here
leaves the fix empty and the visit is saved without it.
"""

from __future__ import annotations

from typing import Any

from kivy.logger import Logger
from kivy.utils import platform


class Locator:
    """The last position the phone reported, as (latitude, longitude)."""

    def __init__(self) -> None:
        self.fix: tuple[float, float] | None = None
        self._running = False

    def start(self) -> None:
        if self._running or platform != "android":
            return
        self._running = True
        try:
            from android.permissions import Permission, request_permissions

            request_permissions(
                [Permission.ACCESS_FINE_LOCATION, Permission.ACCESS_COARSE_LOCATION],
                self._permitted,
            )
        except Exception:  # no permission API, no GPS: the visit goes without a location
            Logger.exception("Minqing: location unavailable")

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        try:
            from plyer import gps

            gps.stop()
        except Exception:  # stopping a GPS that never started is not worth a crash
            Logger.exception("Minqing: could not stop the GPS")

    def _permitted(self, _permissions: list[str], granted: list[bool]) -> None:
        if not any(granted):
            return
        try:
            from plyer import gps

            gps.configure(on_location=self._on_location)
            gps.start(minTime=5000, minDistance=10)
        except Exception:  # see start()
            Logger.exception("Minqing: GPS unavailable")

    def _on_location(self, **fix: Any) -> None:
        # Called on Android's thread; one tuple assignment is atomic.
        self.fix = (float(fix["lat"]), float(fix["lon"]))
