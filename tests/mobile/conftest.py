"""The phone app, run for real and headless: SDL draws offscreen through Mesa.

Kivy is configured here, before it is first imported: its own window
provider (SDL2) with SDL's "offscreen" video driver, which needs no display
and renders with Mesa's llvmpipe; a private KIVY_HOME per test process; and a
5-inch phone's screen (360x640 dp at density 1.5). Each test process has one
window; each test builds its own app in it and drives it by touches,
turning the event loop with EventLoop.idle().
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

KIVY_HOME = tempfile.mkdtemp(prefix="minqing-kivy-")
atexit.register(shutil.rmtree, KIVY_HOME, ignore_errors=True)
os.environ.update(
    KIVY_NO_ARGS="1",
    KIVY_HOME=KIVY_HOME,
    KIVY_WINDOW="sdl2",
    SDL_VIDEODRIVER="offscreen",
    KIVY_METRICS_DENSITY="1.5",
    # Kivy's logs go through Python's logging, so pytest shows them on failure.
    KIVY_LOG_MODE="PYTHON",
)

from tests.system import CI_INSTALLS, offscreen_window_lack, require  # noqa: E402

# Without Mesa, opening Kivy's window (on importing the driver below) would end
# the test process; so the whole directory is skipped first, with one line.
_no_window = offscreen_window_lack()
require(
    _no_window is None,
    str(_no_window),
    f"apt-get install libgl1-mesa-dri libegl1 libmtdev1 ({CI_INSTALLS})",
)

# Kivy reads the environment above when it is first imported.
from kivy.config import Config  # noqa: E402

Config.set("graphics", "width", "540")
Config.set("graphics", "height", "960")
# Frames as fast as they render, and a touch in a ScrollView that is known for
# a tap after 20 ms instead of 250 ms: a test's taps need not wait like a thumb.
Config.set("graphics", "maxfps", "0")
Config.set("widgets", "scroll_timeout", "20")

from sync.sqlite_store import SQLiteStore  # noqa: E402
from tests.conftest import LiveServers  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.mobile.driver import Phone  # noqa: E402
from tests.server.sync.world import County  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "mobile"


@pytest.fixture
def live(live_servers: LiveServers, tmp_path: Path) -> tuple[LiveServer, County]:
    """A fresh small county on the real server (gunicorn, one worker, SQLite)."""
    server, app = live_servers.ready("sqlite", workers=1)
    return server, County.build(app, tmp_path)


@pytest.fixture
def phone(tmp_path: Path, live: tuple[LiveServer, County]) -> Iterator[Phone]:
    """The app on a new phone, pointed at the live server, not yet logged in."""
    server, county = live
    driver = Phone(tmp_path / "phone", server.url, ARTIFACTS)
    driver.start()
    yield driver
    driver.stop()


@pytest.fixture(autouse=True)
def store_stays_off_the_ui_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test in which the phone's store was used on the UI thread."""
    used_on_ui: list[str] = []
    for name in ("_query", "_transaction"):
        original = getattr(SQLiteStore, name)

        def guarded(self: SQLiteStore, *args: object, _original: object = original) -> object:
            if threading.current_thread() is threading.main_thread():
                used_on_ui.append(args[0] if args and isinstance(args[0], str) else "a write")
            return _original(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(SQLiteStore, name, guarded)
    yield
    assert not used_on_ui, f"the store was used on the UI thread: {used_on_ui[:3]}"
