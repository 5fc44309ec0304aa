"""``python -m mobile``: the cadre's phone app in a desktop window, for development.

    python -m mobile --server http://127.0.0.1:5000     # what `make mobile` runs

The window has a 5-inch phone's proportions. The phone's data (its SQLite
store and settings) goes to --data, by default instance/phone.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

# Kivy reads its own options from sys.argv unless told not to.
os.environ.setdefault("KIVY_NO_ARGS", "1")

# A 5-inch phone held upright, in density-independent pixels.
PHONE_SIZE = (400, 760)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mobile", description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="The Minqing server, e.g. http://127.0.0.1:5000.")
    parser.add_argument(
        "--cafile",
        help="A certificate to trust for the server's HTTPS besides the system's"
        " (default: mobile/assets/county-ca.pem when there is one).",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("instance") / "phone",
        help="Where the phone keeps its data (default: instance/phone).",
    )
    options = parser.parse_args(argv)
    lack = desktop_lack(os.environ)
    if lack:
        # One line instead of Kivy's CRITICAL log and traceback, or a window nobody sees.
        sys.exit(f"python -m mobile: {lack}")

    from kivy.config import Config

    Config.set("graphics", "width", str(PHONE_SIZE[0]))
    Config.set("graphics", "height", str(PHONE_SIZE[1]))
    # A mouse is a finger here: no red multitouch dots on right-click.
    Config.set("input", "mouse", "mouse,disable_multitouch")

    from mobile.app import MinqingApp, keep_running_on_errors

    keep_running_on_errors()
    MinqingApp(options.data, server_url=options.server, cafile=options.cafile).run()


def desktop_lack(environ: Mapping[str, str]) -> str | None:
    """What this Linux desktop lacks to show the app's window, if anything.

    Without a display SDL still opens a window, that no one sees; without
    xclip or xsel Kivy's text fields log a CRITICAL traceback for the
    clipboard they cannot reach. (Other systems have both built in.)
    """
    if not sys.platform.startswith("linux") or environ.get("SDL_VIDEODRIVER"):
        return None
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return (
            "no display here (DISPLAY and WAYLAND_DISPLAY are not set): run it on a"
            " desktop, or over `ssh -X`"
        )
    clipboards = ("xclip", "xsel")
    path = environ.get("PATH")
    if not any(shutil.which(tool, path=path) for tool in clipboards) and not (
        importlib.util.find_spec("gi")
    ):
        return "no clipboard tool for text fields: install xclip (apt-get install xclip)"
    return None


if __name__ == "__main__":
    main()
