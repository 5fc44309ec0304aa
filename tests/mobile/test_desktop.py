"""`make mobile` on a machine that cannot show the app says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The settings tests/mobile/conftest.py gives the headless tests, left out here.
HEADLESS = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "KIVY_WINDOW", "KIVY_NO_ARGS")


def run_app(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in HEADLESS}
    env.update(KIVY_HOME=str(tmp_path / "kivy"), **environ)
    return subprocess.run(
        [sys.executable, "-m", "mobile", "--data", str(tmp_path / "phone")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux desktop's needs")
def test_without_a_display_the_app_says_so_in_one_line_and_fails(tmp_path: Path) -> None:
    ran = run_app(tmp_path)
    assert ran.returncode != 0
    assert ran.stderr.strip().splitlines() == [
        "python -m mobile: no display here (DISPLAY and WAYLAND_DISPLAY are not set):"
        " run it on a desktop, or over `ssh -X`"
    ]
    assert not (tmp_path / "phone").exists(), "nothing was made"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux desktop's needs")
def test_without_a_clipboard_tool_the_app_says_which_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    ran = run_app(tmp_path, DISPLAY=":0", PATH=str(empty))
    assert ran.returncode != 0
    assert ran.stderr.strip().splitlines() == [
        "python -m mobile: no clipboard tool for text fields: install xclip (apt-get install xclip)"
    ]
