"""Offline sync under load, on PostgreSQL behind gunicorn (the issue "Offline sync", point 5).

* Return to town: every cadre's phone of the demo county pushes a week of
  work and pulls, 50 phones at a time.
* Ingest and pull against the limit: the push and pull paths beside plain
  inserts (executemany, COPY) and a plain paged SELECT of the same rows.
* A cadre's first sync: bytes on the wire and time.
* An incremental pull of the same changes in ledgers of different sizes.

Each benchmark runs in a copy of a demo county database. The demo counties
themselves are generated once (scale 30 takes over ten minutes) and kept as
template databases named ``minqing_bench_sync_tpl_<scale>``; drop them to
regenerate. Phones live in /dev/shm: a real phone's flash is not the
server's cost, and 50 phones fsyncing one disk would measure that disk.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.demo import AS_OF, MINQING, PG_ADMIN_URL, SEED
from bench.front import missing, nginx_front
from bench.report import machine, table
from bench.serving import free_port, wait_until_serving
from server import gunicorn_conf
from server.accounts.models import Account, Device
from server.accounts.services import register_device
from server.db import begin_write, make_engine
from server.ledger.models import Household, HouseholdLink
from server.sequence import numbered
from server.sync.push import push
from server.sync.records import WIRE_FIELDS
from server.visits.models import Visit
from shared.vocab import AccountRole, IssueCategory, VisitRole
from sync.engine import SyncReport
from sync.hlc import Stamp, wall_clock_ms
from sync.phone import Phone
from sync.transport import Headers, HttpTransport, TransportError

# The server as `minqing serve` runs it: gunicorn workers and threads in each.
WORKERS = gunicorn_conf.workers
THREADS = gunicorn_conf.threads
# Phones syncing at once, driven from this many client processes.
CONCURRENT = 50
CLIENT_PROCESSES = 2
# A week of a cadre's work, made on the phone before it comes back to town.
VISITS = 30
ISSUE_RATE = 0.1  # of visits that raise a new issue
ISSUE_UPDATES = 5
HOUSEHOLD_EDITS = 10
# Ingest: phones each pushing this many visits, in batches of the protocol's maximum.
INGEST_PHONES = 40
INGEST_VISITS = 500
PLAIN_BATCH = 500
# Pushes timed in a round before the plain inserts of the same rows take their turn.
INGEST_ROUND = 5
# Pull: records waiting for one phone, and its page size (the engine's default).
PULL_RECORDS = 50_000
# Incremental pulls measured per ledger scale.
INCREMENTAL_PHONES = 20
SHM = Path("/dev/shm")


# --- databases ---------------------------------------------------------------


def _url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


def _minqing(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([str(MINQING), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"minqing {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def template(scale: int) -> str:
    """The demo county database at ``scale``, generated if not there yet."""
    marker = f"minqing demo --seed {SEED} --as-of {AS_OF} --scale {scale}"
    return demo_database(f"minqing_bench_sync_tpl_{scale}", scale, marker)


def demo_database(name: str, scale: int, marker: str) -> str:
    """The database ``name`` with the demo county at ``scale`` in it, generated
    (by ``MINQING``) unless its comment is already ``marker``; its name."""
    with _admin() as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
        if row is not None and row[0] == marker:
            return name
        _progress(f"generating the scale-{scale} demo county (kept as {name}) …")
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        _minqing(_url(name), "db", "init")
        _minqing(_url(name), "demo", "--seed", str(SEED), "--as-of", AS_OF, "--scale", str(scale))
        # Set only once the demo is complete, so a cut generation is redone.
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    return name


@contextmanager
def scratch(scale: int, label: str) -> Iterator[str]:
    """A copy of the demo county at ``scale``, at the current schema; its URL."""
    source = template(scale)
    name = f"minqing_bench_sync_{label}"
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        # A template made before the latest migration gets it here.
        _minqing(_url(name), "db", "upgrade")
        # What autovacuum does after a bulk load: the benchmark machine's
        # PostgreSQL may run without it, and the planner is lost without statistics.
        with psycopg.connect(_url(name), autocommit=True) as connection:
            connection.execute("ANALYZE")
        yield _url(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_version() -> str:
    with _admin() as admin:
        return str(admin.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]


# --- the server --------------------------------------------------------------


def _proc_stat(pid: int) -> list[str]:
    # The command may contain spaces: fields start after its closing parenthesis.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU of these processes so far (those still alive)."""
    ticks = 0
    for pid in pids:
        try:
            fields = _proc_stat(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def machine_busy() -> tuple[float, float]:
    """The whole machine's (busy, total) CPU seconds so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


class Server:
    """``minqing serve`` (gunicorn) on a free port, against ``url``."""

    def __init__(self, url: str, workers: int = WORKERS, threads: int = THREADS) -> None:
        self.database_url = url
        self.workers = workers
        self.threads = threads
        self.folder = Path(tempfile.mkdtemp(prefix="minqing-bench-server-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "MINQING_INSTANCE_PATH": str(self.folder),
        }
        log_path = self.folder / "server.log"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(MINQING),
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                ],  # fmt: skip
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        # Its workers too, not just the master that answers first.
        wait_until_serving(
            self.process, self.url, log_path, 60, lambda: len(self.pids()) > self.workers
        )
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        assert self.process is not None
        master = self.process.pid
        pids = [master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int(_proc_stat(int(entry.name))[1]) == master:
                        pids.append(int(entry.name))
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    continue
        return pids


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the database at ``url`` (by their titles)."""
    title = f" {url.rsplit('/', 1)[1]} "
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if command.startswith("postgres:") and title in command:
                pids.append(int(entry.name))
    return pids


class Meter:
    """CPU and memory while a block runs: the server's, the database's, the machine's."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak_rss = 0.0
        self._loads: list[float] = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_rss = max(self.peak_rss, rss_mb(self.server.pids()))
            self._loads.append(os.getloadavg()[0])

    def __enter__(self) -> Meter:
        self._database = {pid: cpu_seconds([pid]) for pid in backend_pids(self.server.database_url)}
        self._server_cpu = cpu_seconds(self.server.pids())
        self._machine = machine_busy()
        self.started = time.perf_counter()
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self._stop.set()
        self._sampler.join()
        self.rss_after = rss_mb(self.server.pids())
        self.peak_rss = max(self.peak_rss, self.rss_after)
        self.server_cpu = cpu_seconds(self.server.pids()) - self._server_cpu
        # Connections opened during the block count from zero.
        self.database_cpu = sum(
            cpu_seconds([pid]) - self._database.get(pid, 0.0)
            for pid in backend_pids(self.server.database_url)
        )
        busy, total = machine_busy()
        self.machine_busy = busy - self._machine[0]
        self.machine_total = total - self._machine[1]
        # "Busy" tops out at 100%; the load says how many more wanted the cores.
        # CPU seconds grow with it (the same first syncs took 30% more server CPU
        # at a load of 22 than at 9), so figures are compared at like loads.
        self.load = statistics.fmean(self._loads) if self._loads else os.getloadavg()[0]


# --- phones ------------------------------------------------------------------


def register_phones(url: str, usernames: list[str], folder: Path, server_url: str) -> list[Path]:
    """A logged-in virtual phone for each account (tokens made directly: argon2
    logins would cost ~60 ms each)."""
    engine = make_engine(url)
    logins = []
    with Session(engine) as session, session.begin():
        begin_write(session)
        accounts = {
            account.username: account
            for account in session.scalars(select(Account).where(Account.username.in_(usernames)))
        }
        for username in usernames:
            account = accounts[username]
            issued = register_device(session, account, f"bench phone of {username}")
            # What a login answers, as Phone.login stores it.
            answer = {
                "id": str(account.id),
                "username": account.username,
                "display_name": account.display_name,
                "role": account.role.value,
                "town_id": str(account.town_id) if account.town_id else None,
                "cadre_id": str(account.cadre_id) if account.cadre_id else None,
            }
            logins.append((username, issued.token, str(issued.device.id), answer))
    engine.dispose()
    paths = []
    for username, token, device_id, answer in logins:
        path = folder / f"{username}-{uuid.uuid4().hex[:6]}.db"
        phone = Phone(path, server_url)
        phone.store.set_meta(
            {
                "token": token,
                "device_id": device_id,
                "account": json.dumps(answer, ensure_ascii=False),
                "cursor": None,
            }
        )
        phone.close()
        paths.append(path)
    return paths


def phone_folder() -> Path:
    """A folder for phones' stores, removed when the benchmark ends (in memory
    under /dev/shm, hundreds of MB a run)."""
    folder = Path(
        tempfile.mkdtemp(prefix="minqing-bench-phones-", dir=SHM if SHM.is_dir() else None)
    )
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def make_week(path: Path) -> dict[str, Any]:
    """A week of a cadre's work, made offline on the phone (not timed)."""
    rng = random.Random(f"week:{path.name.rsplit('-', 1)[0]}")
    phone = Phone(path)
    try:
        households = sorted(h["id"] for h in phone.households())
        start = phone.now() - timedelta(days=7)
        for number in range(VISITS):
            issues = []
            if rng.random() < ISSUE_RATE:
                issues.append(
                    {
                        "category": rng.choice(list(IssueCategory)).value,
                        "description": "屋后排水沟堵塞，雨天积水 / the ditch behind the house is blocked",
                    }
                )
            phone.record_visit(
                rng.choice(households),
                roles=rng.sample([role.value for role in VisitRole], 2),
                topics=["医保政策"],
                notes="入户走访，了解家庭近况 / home visit: how the family is doing",
                visited_at=start + timedelta(hours=4 * number),
                issues=issues,
            )
        issues = sorted(
            (issue for issue in phone.issues() if issue.get("household_id")),
            key=lambda issue: issue["id"],
        )
        for issue in rng.sample(issues, min(ISSUE_UPDATES, len(issues))):
            if issue["status"] in ("open", "passed_to_department"):
                phone.follow_up(issue["id"], status="in_progress", department="县民政局")
            else:
                phone.follow_up(
                    issue["id"], note="回访，群众满意 / followed up: the family is satisfied"
                )
        for _ in range(HOUSEHOLD_EDITS):
            household = rng.choice(households)
            if rng.random() < 0.5:
                phone.edit_household(household, phones=[f"139{rng.randrange(10**8):08d}"])
            else:
                phone.edit_household(household, notes=f"{rng.randrange(1, 9)} 口人在外务工")
        return {"changes": phone.pending_count()}
    finally:
        phone.close()


class TimedTransport(HttpTransport):
    """HTTP that also counts requests and sums how long the phone waited for answers."""

    def __init__(self, base_url: str, cafile: str | None = None) -> None:
        super().__init__(base_url, cafile=cafile)
        self.requests = 0
        self.waited = 0.0

    def _round_trip(
        self, method: str, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        self.requests += 1
        started = time.perf_counter()
        try:
            return super()._round_trip(method, path, payload, headers)
        finally:
            self.waited += time.perf_counter() - started


def sync_phone(path: Path, cafile: str | None = None) -> dict[str, Any]:
    """One sync of a phone: push everything, pull until up to date (over
    HTTPS trusting ``cafile``, when its server is the nginx front)."""
    phone = Phone(path)
    transport = TimedTransport(phone.store.get_meta("server_url") or "", cafile)
    phone.transport = phone.engine.transport = transport
    error = None
    try:
        started = time.perf_counter()
        try:
            report = phone.sync()
        except TransportError as failed:
            report, error = SyncReport(), str(failed)
        seconds = time.perf_counter() - started
    finally:
        phone.close()
    return {
        "error": error,
        "seconds": seconds,
        "waited": transport.waited,
        "requests": transport.requests,
        "bytes_sent": transport.bytes_sent,
        "bytes_received": transport.bytes_received,
        "sent": report.sent,
        "received": report.received,
        "conflicts": len(report.conflicts),
        "rejected": len(report.rejected),
    }


ACTIONS: dict[str, Callable[[Path], dict[str, Any]]] = {"week": make_week, "sync": sync_phone}


def _client(
    job: tuple[str, list[Path], int, dict[str, Any]],
) -> tuple[list[dict[str, Any]], float]:
    """A client process: its phones, ``threads`` at a time; its results and CPU seconds."""
    action, paths, threads, options = job
    started = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(partial(ACTIONS[action], **options), paths))
    return results, time.process_time() - started


@dataclass
class Crowd:
    """Many phones driven from client processes, ``CONCURRENT`` at a time."""

    paths: list[Path]
    processes: int = CLIENT_PROCESSES
    concurrent: int = CONCURRENT
    client_cpu: float = 0.0
    _pool: Any = field(default=None, repr=False)

    def __enter__(self) -> Crowd:
        self._pool = get_context("spawn").Pool(self.processes)
        # Start (and import everything in) the client processes before any timing.
        self._pool.map(time.sleep, [0.5] * self.processes)
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.close()
        self._pool.join()

    def run(self, action: str, **options: Any) -> list[dict[str, Any]]:
        threads = self.concurrent // self.processes
        jobs = [
            (action, self.paths[i :: self.processes], threads, options)
            for i in range(self.processes)
        ]
        results: list[dict[str, Any]] = []
        self.client_cpu = 0.0
        for part, cpu in self._pool.map(_client, jobs):
            results.extend(part)
            self.client_cpu += cpu
        return results


def cadres(url: str, limit: int | None = None, households: int | None = None) -> list[str]:
    """Usernames of cadres of the first county who cover households, in a fixed order.

    The first county is the same at every scale (it is generated first from
    the same seed), so the same phones do the same work at every scale.
    """
    engine = make_engine(url)
    covered = func.count(HouseholdLink.id)
    query = (
        select(Account.username)
        .join(HouseholdLink, HouseholdLink.cadre_id == Account.cadre_id)
        .join(Household, Household.id == HouseholdLink.household_id)
        .where(
            Account.role == AccountRole.CADRE,
            HouseholdLink.ended_at.is_(None),
            Account.username.not_like("%-%"),
            # The first county's household codes have no county number in front.
            Household.code.not_like("%-%-%-%"),
        )
        .group_by(Account.username)
        .order_by(Account.username)
    )
    if households is not None:
        query = query.having(covered == households)
    with Session(engine) as session:
        names = list(session.scalars(query.limit(limit)))
    engine.dispose()
    return names


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _progress(message: str) -> None:
    print(f"sync: {message}", file=sys.stderr, flush=True)


# --- return to town ----------------------------------------------------------


@dataclass
class Burst:
    phones: int
    seconds: float
    records: int
    pushed: int
    pulled: int
    p50: float
    p99: float
    conflicts: int
    rejected: int
    failed: int
    peak_rss: float
    server_cpu: float
    database_cpu: float
    client_cpu: float
    machine_busy: float
    machine_total: float
    load: float
    lock: LockWait


@dataclass(frozen=True)
class LockWait:
    """The change counter's lock as /metrics counts it: every push's writes take it."""

    takes: float = 0.0
    seconds: float = 0.0
    # Upper bounds of the histogram's buckets, each with the takes up to it.
    buckets: tuple[tuple[float, float], ...] = ()

    def __sub__(self, earlier: LockWait) -> LockWait:
        before = dict(earlier.buckets)
        return LockWait(
            self.takes - earlier.takes,
            self.seconds - earlier.seconds,
            tuple((bound, count - before.get(bound, 0.0)) for bound, count in self.buckets),
        )

    def percentile(self, share: float) -> float:
        """The bucket bound under which ``share`` of the takes waited."""
        for bound, count in self.buckets:
            if count >= share * self.takes:
                return bound
        return float("inf")


def lock_wait(server_url: str) -> LockWait:
    """The server's counts so far (all its workers: multiprocess metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{server_url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name != "minqing_change_counter_lock_seconds":
            continue
        values = {sample.name: sample for sample in family.samples}
        buckets = tuple(
            (float(sample.labels["le"]), sample.value)
            for sample in family.samples
            if sample.name.endswith("_bucket")
        )
        return LockWait(
            values[f"{family.name}_count"].value, values[f"{family.name}_sum"].value, buckets
        )
    return LockWait()


@dataclass
class ReturnToTown:
    first: Burst
    burst: Burst
    # The same burst, another week on, through nginx over TLS (None: no nginx here).
    fronted: Burst | None


def return_to_town(url: str, workers: int, threads: int, front: bool = False) -> ReturnToTown:
    """Every cadre's phone: first sync, a week of work, then the timed burst;
    with ``front``, another week and the burst through the nginx front."""
    usernames = cadres(url)
    folder = phone_folder()
    with Server(url, workers, threads) as server:
        _progress(f"return to town: {len(usernames)} phones …")
        paths = register_phones(url, usernames, folder, server.url)
        with Crowd(paths) as crowd:
            first = _burst(server, crowd)
            _progress(f"  first syncs: {first.seconds:.1f} s")
            weeks = crowd.run("week")
            _progress(f"  a week of work: {sum(w['changes'] for w in weeks):,} changes")
            burst = _burst(server, crowd)
            _progress(f"  burst: {burst.seconds:.1f} s, p99 {burst.p99 * 1000:.0f} ms")
            fronted = None
            if front and (lacking := missing()):
                _progress(f"  no burst through nginx: {lacking}")
            elif front:
                with nginx_front(server.port, Path(server.folder) / "nginx") as nginx:
                    for path in paths:
                        phone = Phone(path, nginx.url)
                        phone.close()
                    crowd.run("week")
                    fronted = _burst(server, crowd, cafile=nginx.cafile)
                _progress(f"  through nginx: {fronted.seconds:.1f} s")
    return ReturnToTown(first, burst, fronted)


def _burst(server: Server, crowd: Crowd, **options: Any) -> Burst:
    locked = lock_wait(server.url)
    with Meter(server) as meter:
        results = crowd.run("sync", **options)
    locked = lock_wait(server.url) - locked
    seconds = [result["seconds"] for result in results]
    pushed = sum(result["sent"] for result in results)
    pulled = sum(result["received"] for result in results)
    return Burst(
        phones=len(results),
        seconds=meter.seconds,
        records=pushed + pulled,
        pushed=pushed,
        pulled=pulled,
        p50=statistics.median(seconds),
        p99=_percentile(seconds, 0.99),
        conflicts=sum(result["conflicts"] for result in results),
        rejected=sum(result["rejected"] for result in results),
        failed=sum(1 for result in results if result["error"]),
        peak_rss=meter.peak_rss,
        server_cpu=meter.server_cpu,
        database_cpu=meter.database_cpu,
        client_cpu=crowd.client_cpu,
        machine_busy=meter.machine_busy,
        machine_total=meter.machine_total,
        load=meter.load,
        lock=locked,
    )


# --- ingest against the limit ------------------------------------------------


@dataclass
class Ingest:
    records: int
    push: float
    # Records/s of plain inserts of what the push wrote for each: its visit,
    # audit entry and receipt (applied change) rows.
    executemany: float
    copy: float
    # Records/s of plain inserts of the visit rows alone.
    visits_executemany: float


# Rows by table: its column names, and each row's values in their order.
Rows = dict[str, tuple[list[str], list[list[Any]]]]


def ingest(url: str) -> Ingest:
    """The push path beside plain inserts of the rows it wrote into the same database.

    They take turns, a round of pushes then the same rows by each plain method,
    so that this machine's speed, which changes from one second to the next,
    weighs on all of them alike.
    """
    usernames = cadres(url, INGEST_PHONES + 1)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    batches = _visit_batches(factory, usernames)
    # The first batch warms the server's caches (compiled SQL) and is not counted.
    _push(factory, *batches[0])
    # As each server worker does once started (server/wsgi.py).
    gc.freeze()
    seconds = dict.fromkeys(["push", "executemany", "copy", "visits"], 0.0)
    records = 0
    with psycopg.connect(url) as connection:
        for start in range(1, len(batches), INGEST_ROUND):
            pushes = batches[start : start + INGEST_ROUND]
            started = time.perf_counter()
            for device_id, changes in pushes:
                _push(factory, device_id, changes)
            seconds["push"] += time.perf_counter() - started
            written = _written(connection, pushes)
            seconds["executemany"] += _plain_inserts(connection, _executemany, written)
            seconds["copy"] += _plain_inserts(connection, _copy, written)
            visit_rows = {"visit": written["visit"]}
            seconds["visits"] += _plain_inserts(connection, _executemany, visit_rows)
            records += len(written["visit"][1])
    engine.dispose()
    return Ingest(
        records,
        push=records / seconds["push"],
        executemany=records / seconds["executemany"],
        copy=records / seconds["copy"],
        visits_executemany=records / seconds["visits"],
    )


def _written(
    connection: psycopg.Connection[Any], pushes: list[tuple[uuid.UUID, list[dict[str, Any]]]]
) -> Rows:
    """What the pushes wrote for each visit: its row, its audit entry and its receipt."""
    changes = [change for _, batch in pushes for change in batch]
    visits = [uuid.UUID(change["record"]["id"]) for change in changes]
    receipts = [uuid.UUID(change["change_id"]) for change in changes]
    written = {
        "visit": _written_rows(connection, "visit", "id", visits),
        "audit_entry": _written_rows(connection, "audit_entry", "entity_id", visits),
        "applied_change": _written_rows(connection, "applied_change", "id", receipts),
    }
    assert all(len(rows) == len(visits) for _, rows in written.values()), "rows missing"
    return written


def _plain_inserts(
    connection: psycopg.Connection[Any],
    method: Callable[[psycopg.Connection[Any], str, list[str], list[list[Any]]], None],
    written: Rows,
) -> float:
    """Seconds to insert the rows again under new ids, PLAIN_BATCH records a transaction."""
    data = {name: _fresh(connection, *rows) for name, rows in written.items()}
    records = len(next(iter(data.values()))[1])
    started = time.perf_counter()
    for start in range(0, records, PLAIN_BATCH):
        for name, (columns, rows) in data.items():
            method(connection, name, columns, rows[start : start + PLAIN_BATCH])
        connection.commit()
    return time.perf_counter() - started


def _executemany(
    connection: psycopg.Connection[Any], table_name: str, columns: list[str], rows: list[list[Any]]
) -> None:
    statement = (
        f"INSERT INTO {table_name} ({', '.join(columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def _copy(
    connection: psycopg.Connection[Any], table_name: str, columns: list[str], rows: list[list[Any]]
) -> None:
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as writer,
    ):
        for row in rows:
            writer.write_row(row)


def _written_rows(
    connection: psycopg.Connection[Any], table_name: str, key: str, ids: list[uuid.UUID]
) -> tuple[list[str], list[list[Any]]]:
    """The rows of ``table_name`` whose ``key`` is one of ``ids``: columns, rows."""
    cursor = connection.execute(f"SELECT * FROM {table_name} WHERE {key} = ANY(%s)", [ids])
    columns = [column.name for column in cursor.description or []]
    return columns, [list(row) for row in cursor.fetchall()]


def _fresh(
    connection: psycopg.Connection[Any], columns: list[str], rows: list[list[Any]]
) -> tuple[list[str], list[list[Any]]]:
    """The same rows under new ids (and new seqs, as a push gives), JSON as JSON."""
    seq = columns.index("seq") if "seq" in columns else None
    top = (
        connection.execute("SELECT value FROM sync_counter").fetchone()[0] if seq is not None else 0
    )  # type: ignore[index]
    fresh = []
    for n, row in enumerate(rows):
        copied = [Jsonb(value) if isinstance(value, dict | list) else value for value in row]
        copied[columns.index("id")] = uuid.uuid4()
        if seq is not None:
            copied[seq] = top + n + 1
        fresh.append(copied)
    return columns, fresh


def _visit_batches(
    factory: sessionmaker[Session], usernames: list[str]
) -> list[tuple[uuid.UUID, list[dict[str, Any]]]]:
    """For each cadre, a new device and a full batch of visits to its households."""
    rng = random.Random("ingest")
    now = wall_clock_ms()
    batches = []
    with factory() as session, session.begin():
        begin_write(session)
        for username in usernames:
            account = session.scalars(select(Account).where(Account.username == username)).one()
            device = register_device(session, account, "bench ingest").device
            households = list(
                session.scalars(
                    select(HouseholdLink.household_id).where(
                        HouseholdLink.cadre_id == account.cadre_id, HouseholdLink.ended_at.is_(None)
                    )
                )
            )
            changes = []
            for number in range(INGEST_VISITS):
                at = datetime.fromtimestamp((now - number * 60_000) / 1000, UTC)
                changes.append(
                    {
                        "change_id": str(uuid.uuid4()),
                        "kind": "visit",
                        "op": "create",
                        "stamp": str(Stamp(now, number, str(device.id))),
                        "base_seq": 0,
                        "record": {
                            "id": str(uuid.uuid4()),
                            "cadre_id": str(account.cadre_id),
                            "household_id": str(rng.choice(households)),
                            "visited_at": at.isoformat(),
                            "kind": "home_visit",
                            "roles": ["policy", "opinions"],
                            "topics": ["医保政策"],
                            "notes": "入户走访，了解家庭近况",
                            "latitude": None,
                            "longitude": None,
                            "amends_id": None,
                        },
                    }
                )
            batches.append((device.id, changes))
    return batches


def _push(factory: sessionmaker[Session], device_id: uuid.UUID, changes: list[Any]) -> None:
    """One push as the API runs it: one transaction, committed after the answer is made."""
    with factory() as session:
        begin_write(session)
        device = session.get(Device, device_id)
        assert device is not None
        answer = push(session, device, wall_clock_ms(), changes)
        session.commit()
    statuses = {result["status"] for result in answer["results"]}
    assert statuses == {"applied"}, statuses


# --- pull against the limit --------------------------------------------------


@dataclass
class Pull:
    records: int
    pull: float
    plain: float
    page: int


def pull_limit(url: str, server: Server, username: str) -> Pull:
    """A phone pulling many new records beside a plain paged SELECT of them."""
    folder = phone_folder()
    (path,) = register_phones(url, [username], folder, server.url)
    sync_phone(path)  # its households, first (not timed)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        begin_write(session)
        account = session.scalars(select(Account).where(Account.username == username)).one()
        households = list(
            session.scalars(
                select(HouseholdLink.household_id).where(
                    HouseholdLink.cadre_id == account.cadre_id, HouseholdLink.ended_at.is_(None)
                )
            )
        )
        since = _add_visits(session, account.cadre_id, households, PULL_RECORDS)
    engine.dispose()
    page = Phone(path).engine.pull_limit
    # The plain SELECT runs before the pull and again after it, so that a
    # change in this machine's speed weighs on both alike; its rate is over
    # both runs (the harmonic mean of their rates, as they read the same rows).
    plain = [_plain_pull(url, households, since, page)]
    done = sync_phone(path)
    plain.append(_plain_pull(url, households, since, page))
    assert done["received"] >= PULL_RECORDS, done
    return Pull(
        done["received"], done["received"] / done["seconds"], statistics.harmonic_mean(plain), page
    )


def _add_visits(session: Session, cadre_id: Any, households: list[uuid.UUID], count: int) -> int:
    """``count`` visits by the cadre to its households, each with its seq; the seq before."""
    rng = random.Random("pull")
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "cadre_id": cadre_id,
            "household_id": rng.choice(households),
            "visited_at": now - timedelta(minutes=number),
            "kind": "home_visit",
            "roles": ["policy"],
            "topics": ["医保政策"],
            "notes": "入户走访，了解家庭近况",
            "stamp": str(Stamp(wall_clock_ms(), number, "server:bench")),
        }
        for number in range(count)
    ]
    county = session.get(Household, households[0]).county_of(session)  # type: ignore[union-attr]
    session.execute(insert(Visit), numbered(session, county, rows))
    return int(rows[0]["seq"]) - 1


def _plain_pull(url: str, households: list[uuid.UUID], since: int, page: int) -> float:
    """Rows per second of a keyset-paged SELECT of the same columns a pull sends."""
    columns = ["id", "seq", *WIRE_FIELDS[Visit]]
    query = (
        f"SELECT {', '.join(columns)} FROM visit WHERE household_id = ANY(%s) AND seq > %s"
        " ORDER BY seq LIMIT %s"
    )
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        cursor = since
        while True:
            found = connection.execute(query, [households, cursor, page]).fetchall()
            rows += len(found)
            if len(found) < page:
                break
            cursor = found[-1][1]
    return rows / (time.perf_counter() - started)


# --- a cadre's first sync ----------------------------------------------------


def first_sync(url: str, server: Server, username: str) -> dict[str, Any]:
    (path,) = register_phones(url, [username], phone_folder(), server.url)
    return sync_phone(path)


# --- incremental pull at every scale -----------------------------------------


@dataclass
class Incremental:
    scale: int
    households: int
    records: float
    p50: float
    p90: float


def incremental(scale: int, workers: int, threads: int) -> Incremental:
    """Phones pulling the same week of changes from ledgers of different sizes.

    Each cadre has two phones, both synced; one makes a week of work and
    syncs (so do the other cadres'), then the other pulls it: timed.
    """
    with scratch(scale, f"incremental_{scale}") as url, Server(url, workers, threads) as server:
        _progress(f"incremental pull at scale {scale} …")
        usernames = cadres(url, INCREMENTAL_PHONES)
        folder = phone_folder()
        writers = register_phones(url, usernames, folder, server.url)
        readers = register_phones(url, usernames, folder, server.url)
        for path in writers + readers:
            sync_phone(path)
        for path in writers:
            make_week(path)
            sync_phone(path)
        pulls = [sync_phone(path) for path in readers]
        engine = make_engine(url)
        with Session(engine) as session:
            households = session.scalar(select(func.count()).select_from(Household)) or 0
        engine.dispose()
    seconds = [pull["seconds"] for pull in pulls]
    return Incremental(
        scale,
        households,
        statistics.mean(pull["received"] for pull in pulls),
        statistics.median(seconds),
        _percentile(seconds, 0.9),
    )


# --- the section -------------------------------------------------------------


def run(scales: list[int], workers: int = WORKERS, threads: int = THREADS) -> str:
    software = [f"PostgreSQL {_pg_version()}"]
    measured_on = machine(*software)
    with scratch(1, "town") as url:
        town = return_to_town(url, workers, threads, front=True)
    # The same county's phones in the largest ledger: what the counter's lock costs there.
    largest = max(scales)
    crowded = None
    if largest > 1:
        with scratch(largest, "town_large") as url:
            crowded = (largest, return_to_town(url, workers, threads).burst)
    with scratch(1, "limits") as url:
        with Server(url, workers, threads) as server:
            _progress("a cadre's first sync …")
            thirty = cadres(url, 2, households=30)
            # Other phones first, so that every worker has compiled and prepared
            # its queries (a first sync's and an incremental pull's), as a
            # server that has been running would have.
            warm = register_phones(url, cadres(url, 2 * workers), phone_folder(), server.url)
            for _ in range(3):
                for path in warm:
                    sync_phone(path)
            one = first_sync(url, server, thirty[0])
            _progress("pull against the limit …")
            pulled = pull_limit(url, server, thirty[1])
        _progress("ingest against the limit …")
        ingested = ingest(url)
    steps = [incremental(scale, workers, threads) for scale in scales]
    return _section(measured_on, workers, threads, town, crowded, ingested, pulled, one, steps)


def _lock_row(name: str, done: Burst) -> list[str]:
    lock = done.lock
    mean = 1000 * lock.seconds / lock.takes if lock.takes else 0.0
    return [
        name,
        f"{lock.takes:,.0f}",
        f"{lock.seconds:.1f}",
        f"{mean:.1f}",
        f"{1000 * lock.percentile(0.99):.0f}",
        f"{lock.seconds / done.seconds:.2f}",
    ]


def _section(
    measured_on: str,
    workers: int,
    threads: int,
    town: ReturnToTown,
    crowded: tuple[int, Burst] | None,
    ingested: Ingest,
    pulled: Pull,
    one: dict[str, Any],
    steps: list[Incremental],
) -> str:
    burst = town.burst

    def burst_row(name: str, done: Burst) -> list[str]:
        cores = done.machine_total / done.seconds
        return [
            name,
            f"{done.phones:,}",
            str(done.failed),
            f"{done.seconds:.1f}",
            f"{done.pushed:,}",
            f"{done.pulled:,}",
            f"{done.records / done.seconds:,.0f}",
            f"{done.p50 * 1000:.0f}",
            f"{done.p99 * 1000:.0f}",
            f"{done.peak_rss:.0f}",
            f"{done.server_cpu:.0f}",
            f"{done.database_cpu:.0f}",
            f"{done.client_cpu:.0f}",
            f"{100 * done.machine_busy / done.machine_total:.0f}% of {cores:.0f}",
            f"{done.load:.1f}",
        ]

    server = f"`minqing serve --workers {workers}" + (
        f" --threads {threads}`" if threads > 1 else "`"
    )
    slowest = max(steps, key=lambda step: step.p50)
    fastest = min(steps, key=lambda step: step.p50)
    return "\n".join(
        [
            "## Offline sync",
            "",
            f"PostgreSQL behind gunicorn ({server}); the virtual phones of sync/phone.py over"
            " HTTP with gzip, their SQLite stores in /dev/shm. Every run starts from a copy of"
            f" the demo county (`minqing demo --seed {SEED} --as-of {AS_OF}`), analysed (this"
            " machine's PostgreSQL runs without autovacuum). The phones share"
            " the machine with the server: they run in"
            f" {CLIENT_PROCESSES} client processes, {CONCURRENT // CLIENT_PROCESSES} threads each.",
            "",
            measured_on + ".",
            "",
            "### Return to town",
            "",
            f"All the cadres' phones of the scale-1 county sync, {CONCURRENT} at a time: first"
            f" their first sync, then — after a week of work made offline on each ({VISITS}"
            f" visits, about {ISSUE_RATE:.0%} raising a problem, {ISSUE_UPDATES} problem"
            f" follow-ups, {HOUSEHOLD_EDITS} household edits) — the timed burst, each phone"
            " pushing its week and pulling. Records are changes pushed plus records pulled"
            " that were news to the phone (its own records coming back are not counted: in"
            " the burst each phone's scope changed only by its own hand);"
            " times per sync are the whole `Phone.sync()`; memory is the peak sum of the RSS"
            " of gunicorn's master and workers; CPU is seconds used by the server (gunicorn),"
            " the database (PostgreSQL's processes for this database) and the client"
            " processes, beside how busy the whole machine was (other work included) and its"
            " load (the 1-minute load average, mean over the run): CPU seconds grow with the"
            " load, so compare runs made at like loads.",
            "The nginx row is another week of the same work, each phone then syncing through"
            " nginx as deploy/nginx/minqing.conf has it (TLS with a self-signed certificate"
            " the phones trust, HTTP/1.1 kept alive to the phones and to gunicorn) instead of"
            " straight to gunicorn; its memory and server CPU are gunicorn's (nginx's own"
            " CPU is in the machine's).",
            "Target: the burst in under 60 s, the server under 500 MB.",
            "",
            table(
                [
                    "run",
                    "phones",
                    "failed",
                    "seconds",
                    "pushed",
                    "pulled",
                    "records/s",
                    "p50 ms",
                    "p99 ms",
                    "server MB",
                    "server CPU s",
                    "database CPU s",
                    "clients CPU s",
                    "machine busy",
                    "load",
                ],
                [
                    burst_row("first sync", town.first),
                    burst_row("burst: a week each", burst),
                    *(
                        [burst_row("the next week's burst through nginx (TLS)", town.fronted)]
                        if town.fronted
                        else []
                    ),
                    *(
                        [burst_row(f"the same burst, ledger of scale {crowded[0]}", crowded[1])]
                        if crowded
                        else []
                    ),
                ],
            ),  # fmt: skip
            f"In the burst: {burst.conflicts:,} changes answered with a conflict (household"
            f" edits concurrent with their own earlier edit or a neighbour's), {burst.rejected}"
            " rejected.",
            "",
            "The change counter's lock (every push's writes take it, until commit: the one"
            " thing all pushes share; docs/scaling.md):",
            "",
            table(
                ["burst", "takes", "waited s", "mean ms", "p99 under ms", "waited / burst s"],
                [
                    _lock_row(name, done)
                    for name, done in [
                        ("scale 1", burst),
                        *([(f"scale {crowded[0]}", crowded[1])] if crowded else []),
                    ]
                ],
            ),
            "",
            "### Ingest and pull against the limit",
            "",
            f"Push: {INGEST_PHONES} devices each push {INGEST_VISITS} new visits in one batch"
            " through `server.sync.push.push` in-process (validation, merge, audit and"
            " applied-change rows, one transaction per batch, as the API runs it, without"
            f" HTTP). Beside it plain inserts of the same rows under new ids — each visit's"
            " row, its audit entry and its receipt (the applied change a retried push is"
            f" answered from) — {PLAIN_BATCH} records per transaction, with psycopg's"
            " `executemany` and with `COPY`; and, for scale, `executemany` of the visit rows"
            f" alone. They take turns: {INGEST_ROUND} pushes, then the same rows by each plain"
            " method, and again. Pull: a phone that"
            f" has its households pulls {PULL_RECORDS:,} new visits over HTTP into its SQLite"
            f" store in pages of {pulled.page}; beside it a plain keyset-paged SELECT of the"
            " same rows and columns (the query the server runs for visits), pages of the same"
            " size, in one connection, run before the pull and again after it.",
            "Target: push at least half of executemany's rate; pull at least half of the"
            " plain SELECT's.",
            "",
            table(
                ["path", "records", "records/s", "plain records/s", "ratio"],
                [
                    [
                        "push vs executemany",
                        f"{ingested.records:,}",
                        f"{ingested.push:,.0f}",
                        f"{ingested.executemany:,.0f}",
                        f"{ingested.push / ingested.executemany:.2f}",
                    ],
                    [
                        "push vs executemany of the visit rows alone",
                        f"{ingested.records:,}",
                        f"{ingested.push:,.0f}",
                        f"{ingested.visits_executemany:,.0f}",
                        f"{ingested.push / ingested.visits_executemany:.2f}",
                    ],
                    [
                        "push vs COPY",
                        f"{ingested.records:,}",
                        f"{ingested.push:,.0f}",
                        f"{ingested.copy:,.0f}",
                        f"{ingested.push / ingested.copy:.2f}",
                    ],
                    [
                        "pull vs paged SELECT",
                        f"{pulled.records:,}",
                        f"{pulled.pull:,.0f}",
                        f"{pulled.plain:,.0f}",
                        f"{pulled.pull / pulled.plain:.2f}",
                    ],
                ],
            ),
            "### A cadre's first sync",
            "",
            "A new phone of a cadre with 30 households and the demo's year of history."
            " Bytes are as sent (gzip); server time is how long the phone waited for answers.",
            "Target: under 100 KB on the wire.",
            "",
            table(
                ["requests", "records", "bytes sent", "bytes received", "server ms", "total ms"],
                [
                    [
                        str(one["requests"]),
                        f"{one['received']:,}",
                        f"{one['bytes_sent']:,}",
                        f"{one['bytes_received']:,}",
                        f"{one['waited'] * 1000:.0f}",
                        f"{one['seconds'] * 1000:.0f}",
                    ]
                ],
            ),
            "### Incremental pull and ledger size",
            "",
            f"{INCREMENTAL_PHONES} cadres of the first county (the same at every scale) each"
            " have two synced phones; one makes a week of work and syncs, then the other"
            " pulls it (its `sync()`, timed). Target: within 1.5x of each other across scales.",
            "",
            table(
                ["scale", "households", "records per pull", "p50 ms", "p90 ms"],
                [
                    [
                        str(step.scale),
                        f"{step.households:,}",
                        f"{step.records:.0f}",
                        f"{step.p50 * 1000:.0f}",
                        f"{step.p90 * 1000:.0f}",
                    ]
                    for step in steps
                ],
            ),
            f"Slowest over fastest (p50): {slowest.p50 / fastest.p50:.2f}x.",
        ]
    )
