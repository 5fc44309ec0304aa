"""``python -m bench``: run the benchmarks and write their sections of docs/benchmarks.md.

python -m bench                          # everything, at the default sizes
python -m bench --only demo --scales 1   # one benchmark, smaller
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bench import compression, console, counties, demo, migrations, mobile, over_2g, photos, sync
from bench.report import write_section

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BACKENDS = ("sqlite", "postgresql")


def _demo(options: argparse.Namespace) -> str:
    return demo.run(options.scales, options.backends)


def _sync(options: argparse.Namespace) -> str:
    return sync.run(options.scales)


def _mobile(options: argparse.Namespace) -> str:
    return mobile.run()


def _console(options: argparse.Namespace) -> str:
    return console.run(options.backends, options.console_scale)


def _migrations(options: argparse.Namespace) -> str:
    return migrations.run()


def _counties(options: argparse.Namespace) -> str:
    return counties.run()


def _photos(options: argparse.Namespace) -> str:
    return photos.run()


def _compression(options: argparse.Namespace) -> str:
    return compression.run()


def _over_2g(options: argparse.Namespace) -> str:
    return over_2g.run()


# Each benchmark: its name (and section) and what runs it.
BENCHMARKS: dict[str, Callable[[argparse.Namespace], str]] = {
    "demo": _demo,
    "sync": _sync,
    "mobile": _mobile,
    "console": _console,
    "migrations": _migrations,
    "counties": _counties,
    "photos": _photos,
    "compression": _compression,
    "over-2g": _over_2g,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="Run only this benchmark (repeatable).",
    )
    parser.add_argument(
        "--scales",
        type=_numbers,
        default=[1, 10],
        help="Demo county scales, e.g. 1,10 (default: 1,10).",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=list(BACKENDS),
        help="Comma-separated: sqlite, postgresql (default: both).",
    )
    parser.add_argument(
        "--console-scale",
        type=int,
        help="Also time the console on PostgreSQL at this ledger scale, e.g. 30"
        " (its demo county takes over ten minutes to generate the first time).",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"Default: {OUTPUT}.")
    options = parser.parse_args(argv)
    for name in options.only or list(BENCHMARKS):
        write_section(options.output, name, BENCHMARKS[name](options))
        print(f"{name}: written to {options.output}")


def _numbers(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text}") from None
    if any(number < 1 for number in numbers):
        raise argparse.ArgumentTypeError(f"scales start at 1: {text}")
    return numbers


def _backends(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend {', '.join(unknown)}: use {', '.join(BACKENDS)}"
        )
    return names


if __name__ == "__main__":
    main()
