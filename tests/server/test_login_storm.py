"""Logins over real HTTP against gunicorn as ``minqing serve`` runs it: wrong
passwords sent at once, and a town's training day of 200 cadres logging in
together, with the phones' own transport."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.accounts.models import Account, Device
from sync.transport import AuthError, HttpTransport, NetworkError, RequestRefused, ServerError
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.server.sync.world import PASSWORD, County

CADRES = 200
# What a phone waits for an answer (HttpTransport's default).
PHONE_TIMEOUT = 30.0


def live_town(
    backend: str, live_servers: LiveServers, tmp_path: Path, cadres: int
) -> tuple[LiveServer, County]:
    """A live server over a town of cadres, each with an account."""
    server, app = live_servers.ready(backend)
    return server, County.build(app, tmp_path, cadres=cadres, households_each=0)


@pytest.fixture
def town(backend: str, live_servers: LiveServers, tmp_path: Path) -> tuple[LiveServer, County]:
    return live_town(backend, live_servers, tmp_path, cadres=2)


@pytest.fixture
def training_day(
    backend: str, live_servers: LiveServers, tmp_path: Path
) -> tuple[LiveServer, County]:
    return live_town(backend, live_servers, tmp_path, cadres=CADRES)


def test_wrong_passwords_sent_eight_at_a_time_get_five_checks_and_then_429(
    town: tuple[LiveServer, County],
) -> None:
    server, county = town
    username = county.cadres[0]

    def guess(_: int) -> int:
        try:
            HttpTransport(server.url).login(username, "guess", "attacker")
        except AuthError:
            return 401
        except RequestRefused as refused:
            return refused.status
        return 201

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = Counter(pool.map(guess, range(20)))
    assert answers == {401: 5, 429: 15}
    with county.session() as session:
        account = session.scalars(select(Account).where(Account.username == username)).one()
        assert account.failed_logins == 5


def test_logins_at_once_with_one_registration_id_make_one_device(
    town: tuple[LiveServer, County],
) -> None:
    server, county = town
    username, registration = county.cadres[0], str(uuid.uuid4())

    def log_in(_: int) -> str:
        answer = HttpTransport(server.url).login(username, PASSWORD, "红米 9A", registration)
        return str(answer["device_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        devices = set(pool.map(log_in, range(8)))
    assert len(devices) == 1
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 1


def server_memory(server: LiveServer) -> int:
    """Bytes resident in the server's processes (gunicorn's master and workers)."""
    assert server.process is not None
    group = server.process.pid  # started in a session of its own
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            # Fields after the command's closing parenthesis: state, ppid, pgrp, ...
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@pytest.mark.slow
def test_a_town_of_200_cadres_logging_in_at_once_all_get_clear_answers_in_time(
    training_day: tuple[LiveServer, County],
) -> None:
    server, county = training_day
    peak = server_memory(server)
    storming = threading.Event()

    def watch_memory() -> None:
        nonlocal peak
        while not storming.wait(0.05):
            peak = max(peak, server_memory(server))

    answers: list[tuple[str, float]] = []  # (status, seconds waited for it)
    retry_afters: list[int | None] = []
    together = threading.Barrier(CADRES)

    def phone(username: str) -> None:
        transport = HttpTransport(server.url, timeout=PHONE_TIMEOUT)
        registration = str(uuid.uuid4())  # what Phone.login keeps in its store
        together.wait()
        while True:
            asked = time.monotonic()
            try:
                transport.login(username, PASSWORD, "培训日", registration)
            except ServerError as busy:
                answers.append((str(busy)[:3], time.monotonic() - asked))
                retry_afters.append(busy.retry_after)
                time.sleep(busy.retry_after or PHONE_TIMEOUT)
                continue
            except NetworkError:
                answers.append(("no answer", time.monotonic() - asked))
                return
            answers.append(("201", time.monotonic() - asked))
            return

    watcher = threading.Thread(target=watch_memory)
    watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CADRES) as pool:
        list(pool.map(phone, county.cadres))
    duration = time.monotonic() - started
    storming.set()
    watcher.join()

    statuses = Counter(status for status, _ in answers)
    print(
        f"\n{CADRES} logins at once: done in {duration:.1f} s; answers {dict(statuses)};"
        f" slowest answer {max(waited for _, waited in answers):.1f} s;"
        f" server memory peak {peak / 2**20:.0f} MB"
    )
    assert set(statuses) <= {"201", "503"}, "every phone heard an answer before its timeout"
    assert statuses["201"] == CADRES, "every phone got in, retrying when told to"
    assert all(waited < PHONE_TIMEOUT for _, waited in answers)
    assert all(seconds is not None and 0 < seconds <= 10 for seconds in retry_afters)
    assert peak < 500 * 2**20
    with county.session() as session:
        devices = session.scalar(select(func.count()).select_from(Device))
    assert devices == CADRES, "one device per phone, however often it asked"
