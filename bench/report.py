"""docs/benchmarks.md: one section per benchmark, each rewritten only by its own."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import date
from pathlib import Path

TITLE = "# Benchmarks\n\nMeasured by `make bench` (`python -m bench`). Each section is rewritten by its own benchmark only.\n"


def machine(*software: str) -> str:
    """One line naming what the numbers were measured on (and with)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    # On a shared machine, other work explains slow numbers.
    load = os.getloadavg()[1]
    return (
        f"Measured {date.today().isoformat()} on {os.cpu_count()} CPUs, {memory:.0f} GB RAM,"
        f" {platform.system()} {platform.machine()}, Python {platform.python_version()},"
        f" {', '.join([f'SQLite {sqlite3.sqlite_version}', *software])};"
        f" 5-minute load average {load:.1f}"
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; numeric-looking columns are right-aligned."""
    aligns = [
        "---:" if rows and all(_numeric(row[i]) for row in rows) else "---"
        for i in range(len(header))
    ]
    lines = [header, aligns, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def write_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` in section ``name`` of ``path``, leaving other sections as they are."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else TITLE
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "", 1).isdigit()
