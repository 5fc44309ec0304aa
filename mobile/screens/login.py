"""First run: the server's address and the cadre's login (needs signal once)."""

from __future__ import annotations

import platform as system
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.utils import platform

from mobile.widgets import Page
from shared.schemas import FIELD_MESSAGES
from sync.transport import NetworkError

DEFAULT_SERVER = "http://127.0.0.1:5000"


def phone_model() -> str:
    """The phone's model ("Redmi Note 12"): its name unless the cadre gives one."""
    if platform == "android":
        from jnius import autoclass  # type: ignore[import-not-found]

        return str(autoclass("android.os.Build").MODEL)
    return system.node() or "phone"


class LoginScreen(Page):
    busy = BooleanProperty(False)
    message = StringProperty("")

    def show(self, **params: Any) -> None:
        self.busy = False
        self.ids.server.text = self.app.server_url or self.ids.server.text or DEFAULT_SERVER
        # A cadre with two phones is told which one a change came from by this name.
        self.ids.device_name.text = self.ids.device_name.text or phone_model()
        if self.app.runner.revoked:
            self.message = self.app.t("login.revoked_note", count=self.app.pending)
        elif self.app.login_note:
            self.message = self.app.login_note

    def log_in(self) -> None:
        fields = {
            name: self.ids[name] for name in ("server", "username", "password", "device_name")
        }
        for field in fields.values():
            field.error = "" if field.text.strip() else self.app.pick(FIELD_MESSAGES["required"])
        if any(field.error for field in fields.values()):
            return
        self.busy = True
        self.message = self.app.t("login.working")
        self.app.log_in(
            fields["server"].text,
            fields["username"].text,
            fields["password"].text,
            fields["device_name"].text,
            self._refused,
        )

    def _refused(self, error: BaseException) -> None:
        self.busy = False
        if isinstance(error, NetworkError | ValueError):
            # ValueError: urllib could not even make a request of the address.
            self.message = self.app.t("login.no_server")
        else:
            self.message = self.app.pick(str(error))
