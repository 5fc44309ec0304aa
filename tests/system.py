"""What the tests need from the machine beyond the virtualenv.

A part of the suite whose system package is missing is skipped with one line
saying what is missing and how to get it; in CI (CI set), where .ci/run
installs everything, the same line fails the test instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache

import pytest

CI_INSTALLS = "run .ci/run (as root) or install the Debian packages it lists"


def require(present: bool, missing: str, how: str) -> None:
    """Skip (or in CI fail) the calling test, or a conftest's whole directory, unless ``present``."""
    if present:
        return
    line = f"{missing}: {how}"
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {line}", pytrace=False)
    pytest.skip(line, allow_module_level=True)


@cache
def offscreen_window_lack() -> str | None:
    """Why Kivy cannot open its offscreen SDL window here, or None if it can.

    Tried in a child process: without Mesa's EGL, Kivy logs CRITICAL and
    exits the whole process, which would take a test worker with it.
    """
    probe = (
        "import os, tempfile;"
        "os.environ.update(KIVY_NO_ARGS='1', KIVY_HOME=tempfile.mkdtemp(), KIVY_WINDOW='sdl2',"
        " SDL_VIDEODRIVER='offscreen');"
        "from kivy.core.window import Window;"
        "raise SystemExit(0 if Window is not None else 3)"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return "Kivy's offscreen window did not open within 120 s"
    if done.returncode == 0:
        return None
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return f"Kivy cannot open an offscreen window ({lines[-1] if lines else done.returncode})"
