"""The PIN: chosen after the first login, asked at start and after a long pause."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from mobile.notebook import WrongPin
from mobile.widgets import Page
from sync.lock import LockedOut

PIN_DIGITS = (4, 8)


class PinScreen(Page):
    # "set": choose a PIN (twice); "unlock": type it.
    mode = StringProperty("unlock")
    busy = BooleanProperty(False)
    message = StringProperty("")

    def show(self, mode: str = "unlock", **params: Any) -> None:
        self.mode = mode
        self.busy = False
        self.message = ""
        for name in ("pin", "again"):
            self.ids[name].text = ""
            self.ids[name].error = ""

    def submit(self) -> None:
        pin = self.ids.pin.text.strip()
        low, high = PIN_DIGITS
        if not (pin.isdigit() and low <= len(pin) <= high):
            self.ids.pin.error = self.app.t("pin.invalid", low=low, high=high)
            return
        self.ids.pin.error = ""
        if self.mode == "set":
            if self.ids.again.text.strip() != pin:
                self.ids.again.error = self.app.t("pin.mismatch")
                return
            self.busy = True
            self.app.call(lambda notebook: notebook.set_pin(pin), self.app.pin_set)
        else:
            self.busy = True
            self.app.call(lambda notebook: notebook.unlock(pin), self.app.unlocked, self._refused)

    def _refused(self, error: BaseException) -> None:
        self.busy = False
        self.ids.pin.text = ""
        if isinstance(error, WrongPin):
            self.message = self.app.t("pin.wrong", left=error.left)
        elif isinstance(error, LockedOut):
            self.app.locked_out()
        else:
            self.app.show_error(error)
