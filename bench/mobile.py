"""The cadre's phone app: cold start, saving a visit, scrolling, store size, memory.

A phone is laid out as a sync would leave it: one cadre's 30 households
(the rule's most) with five years of history, a visit to each household
every two weeks and an issue raised at one visit in five, each followed
up twice. The app then runs in its own process, drawing offscreen with
SDL and Mesa as in the tests, and reports:

* cold start: from starting the process to the household list filled;
* saving a visit with an issue (Phone.record_visit, one atomic commit);
* scrolling the household list top to bottom, one frame per step;
* the store's size on disk (SQLite file and WAL) and the process's peak memory.

Each is measured twice: on the store sealed with its key (as every phone
keeps it, opened by the PIN: cold start then includes deriving the key with
scrypt and opening the sealed records) and on the same store in plain text,
opened without a PIN, to show what the encryption costs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import machine, table

HOUSEHOLDS = 30
YEARS = 5
VISIT_EVERY_DAYS = 14
ISSUE_EVERY_VISITS = 5
SAVES = 20
PIN = "2580"
PASSWORD = "bench-password"
# The issue's targets.
TARGETS = {"start_s": 1.5, "save_ms": 50.0, "database_mb": 10.0, "memory_mb": 250.0}


def run() -> str:
    """Lay out the phone, run the app on it (sealed, then plain), and write the markdown."""
    results = {}
    started = time.perf_counter()
    for sealed in (True, False):
        with tempfile.TemporaryDirectory(prefix="minqing-bench-phone-") as folder:
            data_dir = Path(folder)
            counts = lay_out_phone(data_dir / "minqing.db", sealed)
            measured_on = machine()
            print(f"mobile: starting the app (sealed: {sealed}) …", file=sys.stderr, flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "bench.mobile", str(data_dir), "sealed" if sealed else ""],
                env={**os.environ, **HEADLESS, "KIVY_HOME": str(data_dir / "kivy")},
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise RuntimeError(f"the app failed:\n{child.stderr[-3000:]}")
            results[sealed] = json.loads(child.stdout.strip().splitlines()[-1])
    wall = time.perf_counter() - started
    result, plain = results[True], results[False]

    def row(measure: str, shown: str, key: str = "", target: str = "") -> list[str]:
        """Sealed, plain, the target, and the sealed store's verdict."""
        verdict = _ok(result[key], TARGETS[target]) if target else ""
        limit = f"< {TARGETS[target]:g} {shown.split()[-1]}" if target else ""
        return [measure, _shown(result, shown), _shown(plain, shown), limit, verdict]

    rows = [
        row(
            "cold start to a usable household list",
            "{list_ready_s:.2f} s",
            "list_ready_s",
            "start_s",
        ),
        row("of which: deriving the key from the PIN (scrypt)", "{unlock_ms:.0f} ms"),
        row(
            "saving a visit with a problem (median / max)",
            "{save_ms_median:.1f} / {save_ms_max:.1f} ms",
            "save_ms_max",
            "save_ms",
        ),
        row("the household list's query (30 households' summaries)", "{list_query_ms:.0f} ms"),
        row(
            "scrolling 30 households (mean / worst frame)",
            "{frame_ms_mean:.1f} / {frame_ms_max:.1f} ms",
        ),
        row(
            "local database for that history", "{database_mb:.1f} MB", "database_mb", "database_mb"
        ),
        row("peak memory of the app", "{memory_mb:.0f} MB", "memory_mb", "memory_mb"),
    ]
    print(f"  done in {wall:.1f} s", file=sys.stderr, flush=True)
    return "\n".join(
        [
            "## Phone app",
            "",
            f"One cadre's phone with {HOUSEHOLDS} households and {YEARS} years of history:"
            f" {counts['visit']:,} visits (one per household every {VISIT_EVERY_DAYS} days),"
            f" {counts['issue']:,} problems and {counts['issue_event']:,} follow-ups, stored as a"
            " sync leaves them. The app (`python -m bench.mobile`) runs in its own process and"
            " draws offscreen (SDL's offscreen driver on Mesa's llvmpipe, 540x960 px at density"
            " 1.5), so frame times are a software renderer's, slower than a phone's GPU. Cold"
            " start counts from starting the process (Python, Kivy, the window, the CJK font,"
            " the store) to the list showing all households; a save is one atomic commit with"
            " full fsync; memory is the process's peak RSS. Encrypted, as every phone keeps"
            " it, the store is opened by the PIN (typed at once, not at a thumb's pace): cold"
            " start then includes deriving the key with scrypt and opening every sealed record"
            " the list needs. The plain column is the same store unencrypted, for the cost.",
            "",
            measured_on + ".",
            "",
            table(["measure", "encrypted", "plain", "target", "verdict"], rows),
        ]
    )


def _ok(value: float, target: float) -> str:
    return "met" if value < target else "**missed**"


def _shown(result: dict[str, float], shown: str) -> str:
    return shown.format(**result) if "unlock_ms" in result or "unlock_ms" not in shown else "–"


HEADLESS = {
    "KIVY_NO_ARGS": "1",
    "KIVY_WINDOW": "sdl2",
    "SDL_VIDEODRIVER": "offscreen",
    "KIVY_METRICS_DENSITY": "1.5",
    "KIVY_LOG_MODE": "PYTHON",
}


# --- the phone's store, as a sync leaves it ------------------------------------


def lay_out_phone(path: Path, sealed: bool = True) -> dict[str, int]:
    """Fill a phone store with a cadre's households and years of history
    (sealed with a key wrapped by PIN, unless not ``sealed``)."""
    from sync.lock import AppLock
    from sync.sqlite_store import SQLiteStore

    ids = _Ids()
    now = datetime.now(UTC)
    cadre, unit, village, town = ids.new(), ids.new(), ids.new(), ids.new()
    records: list[dict[str, Any]] = [
        _wire("county", ids.new(), {"name": "东山县", "service_numbers": ["便民服务热线 12345"]}),
        _wire("town", town, {"name": "康美镇"}),
        _wire("village", village, {"town_id": town, "name": "康美村"}),
        _wire(
            "work_unit", unit, {"name": "县公务员局", "kind": "county_department", "town_id": None}
        ),
        _wire(
            "cadre",
            cadre,
            {
                "name": "陈志明",
                "unit_id": unit,
                "phone": "13905960000",
                "rank": "county_cadre",
                "active": True,
            },
        ),
    ]
    grids = [ids.new() for _ in range(3)]
    records += [
        _wire("grid", grid, {"village_id": village, "name": f"第{n + 1}网格"})
        for n, grid in enumerate(grids)
    ]
    counts = {"visit": 0, "issue": 0, "issue_event": 0}
    for number in range(HOUSEHOLDS):
        household = ids.new()
        records.append(
            _wire(
                "household",
                household,
                {
                    "code": f"H{number:06d}",
                    "grid_id": grids[number % len(grids)],
                    "head_name": f"林{number:02d}",
                    "members": 4,
                    "address": f"康美村{number + 1}号",
                    "phones": [f"139059{number:05d}"],
                    "tags": ["fishing"] if number % 3 == 0 else [],
                    "notes": "",
                    "field_stamps": {},
                    "deleted_at": None,
                },
            )
        )
        day = now - timedelta(days=365 * YEARS) + timedelta(days=number % VISIT_EVERY_DAYS)
        visits = 0
        while day < now:
            visit = ids.new()
            records.append(
                _wire(
                    "visit",
                    visit,
                    {
                        "cadre_id": cadre, "household_id": household, "visited_at": day.isoformat(),
                        "kind": "home_visit", "roles": ["policy", "opinions"], "topics": ["惠民政策"],
                        "notes": "入户了解生产生活情况，宣传惠民政策，听取意见建议。" * 2,
                        "latitude": 23.7, "longitude": 117.4, "amends_id": None,
                        "stamp": None, "deleted_at": None,
                    },
                )
            )  # fmt: skip
            counts["visit"] += 1
            visits += 1
            if visits % ISSUE_EVERY_VISITS == 0:
                counts["issue"] += 1
                issue = ids.new()
                records.append(
                    _wire(
                        "issue",
                        issue,
                        {
                            "village_id": village, "household_id": household, "visit_id": visit,
                            "raised_by_cadre_id": cadre, "raised_at": day.isoformat(),
                            "category": "social_aid", "description": "家中老人看病报销手续不清楚，希望帮助办理。",
                            "status": "household_informed", "department": "县医保局",
                            "aid_amount": None, "stamp": None, "deleted_at": None,
                        },
                    )
                )  # fmt: skip
                for step, status in enumerate(("passed_to_department", "household_informed")):
                    counts["issue_event"] += 1
                    records.append(
                        _wire(
                            "issue_event",
                            ids.new(),
                            {
                                "issue_id": issue, "at": (day + timedelta(days=step + 1)).isoformat(),
                                "kind": "status", "status": status, "base_status": None,
                                "department": "县医保局", "note": "已联系县医保局，办理完毕后告知群众。",
                                "cadre_id": cadre, "stamp": None,
                            },
                        )
                    )  # fmt: skip
            day += timedelta(days=VISIT_EVERY_DAYS)
    store = SQLiteStore(path)
    if sealed:
        lock = AppLock(store)
        lock.remember_password(PASSWORD)
        lock.set_pin(PIN)
    # Pages of a sync's size; issues before their events, as a pull sends them.
    for start in range(0, len(records), 500):
        store.apply_page(records[start : start + 500], [], str(start))
    account = {"id": ids.new(), "username": "13905960000", "display_name": "陈志明",
               "role": "cadre", "town_id": None, "cadre_id": cadre}  # fmt: skip
    store.set_meta(
        {
            "token": "bench", "device_id": ids.new(), "server_url": "http://127.0.0.1:9",
            "account": json.dumps(account, ensure_ascii=False),
            "last_sync_ms": str(int(now.timestamp() * 1000)),
        }
    )  # fmt: skip
    store.close()
    return counts


class _Ids:
    def new(self) -> str:
        return str(uuid.uuid4())


def _wire(kind: str, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "id": record_id, "seq": 1, "data": data}


# --- inside the app's process ------------------------------------------------------


def measure_app(data_dir: Path, process_started: float, sealed: bool) -> dict[str, float]:
    """Run the app on ``data_dir`` and measure it; called in its own process."""
    from kivy.base import EventLoop

    from mobile.app import MinqingApp
    from sync.vault import unwrap

    app = MinqingApp(data_dir, auto_sync_seconds=0)
    app._run_prepare()
    while app.notebook is None:
        EventLoop.idle()
    EventLoop.idle()
    figures: dict[str, float] = {}
    if sealed:
        # The PIN, as the cadre types it on the screen the app opens on.
        pin = app.root.ids.screens.current_screen
        assert pin.name == "pin", pin.name
        pin.ids.pin.text = PIN
        pin.submit()
    else:
        # A plain store opens without a PIN: straight to the list.
        notebook = app.notebook
        app.store.submit(lambda: (notebook.status(), notebook.households()), app.unlocked)
    households = app.screen("households")
    while len(households.ids.list.data) < HOUSEHOLDS:
        EventLoop.idle()
    EventLoop.idle()  # the frame that shows it
    list_ready_s = time.time() - process_started
    notebook = app.notebook
    assert notebook is not None
    if sealed:
        wrapped = notebook.phone.store.wrapped("pin")
        assert wrapped is not None
        started = time.perf_counter()
        unwrap(wrapped, PIN)
        figures["unlock_ms"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    notebook.households()
    list_query_ms = (time.perf_counter() - started) * 1000

    household_id = households.ids.list.data[0]["household_id"]
    saves = []
    for number in range(SAVES):
        started = time.perf_counter()
        notebook.record_visit(
            household_id,
            roles=["service"],
            notes=f"第{number}次保存",
            issues=[{"category": "other", "description": "路灯坏了"}],
        )
        saves.append((time.perf_counter() - started) * 1000)

    rows = households.ids.list
    frames = []
    for step in range(61):
        rows.scroll_y = 1 - step / 60
        started = time.perf_counter()
        EventLoop.idle()
        frames.append((time.perf_counter() - started) * 1000)
    database = sum(
        file.stat().st_size for file in data_dir.iterdir() if file.name.startswith("minqing.db")
    )
    return {
        **figures,
        "list_ready_s": list_ready_s,
        "list_query_ms": list_query_ms,
        "save_ms_median": statistics.median(saves),
        "save_ms_max": max(saves),
        "frame_ms_mean": statistics.mean(frames),
        "frame_ms_max": max(frames),
        "database_mb": database / 2**20,
        "memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _process_start_time() -> float:
    """When this process started (wall clock), from /proc: before Python itself."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    process_started = _process_start_time()
    from kivy.config import Config

    Config.set("graphics", "width", "540")
    Config.set("graphics", "height", "960")
    print(json.dumps(measure_app(Path(sys.argv[1]), process_started, sys.argv[2] == "sealed")))
