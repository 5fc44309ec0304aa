"""``python -m mobile``: the cadre's phone app in a desktop window, for development.

    python -m mobile --server http://127.0.0.1:5000     # what `make mobile` runs

The window has a 5-inch phone's proportions. The phone's data (its SQLite
store and settings) goes to --data, by default instance/phone.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Kivy reads its own options from sys.argv unless told not to.
os.environ.setdefault("KIVY_NO_ARGS", "1")

# A 5-inch phone held upright, in density-independent pixels.
PHONE_SIZE = (400, 760)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mobile", description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="The Minqing server, e.g. http://127.0.0.1:5000.")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("instance") / "phone",
        help="Where the phone keeps its data (default: instance/phone).",
    )
    options = parser.parse_args(argv)

    from kivy.config import Config

    Config.set("graphics", "width", str(PHONE_SIZE[0]))
    Config.set("graphics", "height", str(PHONE_SIZE[1]))
    # A mouse is a finger here: no red multitouch dots on right-click.
    Config.set("input", "mouse", "mouse,disable_multitouch")

    from mobile.app import MinqingApp, keep_running_on_errors

    keep_running_on_errors()
    MinqingApp(options.data, server_url=options.server).run()


if __name__ == "__main__":
    main()
