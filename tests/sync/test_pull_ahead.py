"""The phone asks for the next page while it stores one, when it safely can.

A request names the households the phone holds: the next page may be asked
for early, naming the households of the page being stored, unless that page
drops some (the phone may keep one it has changes for).
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sync.engine import SyncEngine, SyncReport
from sync.hlc import Clock, wall_clock_ms
from sync.sqlite_store import SQLiteStore

HOUSEHOLD = str(uuid.uuid4())


def _visit(seq: int) -> dict[str, Any]:
    return {
        "kind": "visit",
        "id": str(uuid.uuid4()),
        "seq": seq,
        "data": {"household_id": HOUSEHOLD, "notes": f"走访 {seq}"},
    }


GONE = str(uuid.uuid4())

# The server's pages by the cursor asked with: a first page that brings a
# household, a second that drops another, then two of its visits' pages.
PAGES: dict[str | None, dict[str, Any]] = {
    None: {
        "records": [{"kind": "household", "id": HOUSEHOLD, "seq": 1, "data": {"head_name": "林"}}],
        "cursor": "1",
        "more": True,
    },
    "1": {"records": [_visit(2)], "cursor": "2", "more": True, "evict": [GONE]},
    "2": {"records": [_visit(3)], "cursor": "3", "more": True},
    "3": {"records": [_visit(4)], "cursor": "4", "more": False},
}


class ScriptedServer:
    """Answers pulls from PAGES; notes what each request said."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, list[str]]] = []
        self.last_page_asked = threading.Event()

    def pull(self, token: str, cursor: str | None, held: list[str], limit: int) -> dict[str, Any]:
        self.asked.append((cursor, sorted(held)))
        if cursor == "3":
            self.last_page_asked.set()
        return {"evict": [], **PAGES[cursor], "server_time_ms": wall_clock_ms()}


def test_the_next_page_is_asked_for_while_a_page_is_stored_unless_it_drops_households(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "phone.db")
    store.set_meta({"token": "token"})
    server = ScriptedServer()
    engine = SyncEngine(store, server, Clock("phone"))  # type: ignore[arg-type]
    stored: list[tuple[str, bool]] = []
    apply_page = store.apply_page

    def storing(records: Any, evict: Any, cursor: str) -> list[str]:
        if cursor == "1":
            # The household's page: the next request goes while it is stored.
            stored.append((cursor, _asked(server, "1")))
        if cursor == "2":
            # The page that drops a household: stored before the next request.
            stored.append((cursor, _asked(server, "2", seconds=0.5)))
        if cursor == "3":
            # Stored only once the next page has been asked for: it must be
            # asked for without waiting for this one.
            stored.append((cursor, server.last_page_asked.wait(timeout=10)))
        return apply_page(records, evict, cursor)

    store.apply_page = storing  # type: ignore[method-assign]
    report = SyncReport()
    engine.pull(report)

    # The first page's household was named before it was stored; the page
    # that dropped one was stored before the next request.
    assert server.asked == [(None, []), ("1", [HOUSEHOLD]), ("2", [HOUSEHOLD]), ("3", [HOUSEHOLD])]
    assert stored == [("1", True), ("2", False), ("3", True)]
    assert store.get_meta("cursor") == "4"
    assert len(store.records("visit", HOUSEHOLD)) == 3
    assert report.received == 4


def _asked(server: ScriptedServer, cursor: str, seconds: float = 5) -> bool:
    """Whether the page after ``cursor`` is asked for within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(asked == cursor for asked, _ in server.asked):
            return True
        time.sleep(0.01)
    return False
