"""Throwaway PostgreSQL clusters on local ports, for the failover and recovery tests.

Built with the server binaries Debian installs (/usr/lib/postgresql/N/bin),
in a directory under /tmp owned by the user that runs them: initdb refuses
root, so as root they run as ``postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.live import free_port
from tests.system import require


def pg_bin() -> Path:
    """The newest PostgreSQL server's binaries; skips (or in CI fails) the test without one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    require(
        bool(found),
        "PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) are missing",
        "apt-get install postgresql (they go to /usr/lib/postgresql/<version>/bin)",
    )
    return Path(found[0]).parent


def _owner() -> str | None:
    """Who runs the clusters: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        require(False, "running as root with no postgres user", "run the tests as another user")
    return "postgres"


def scratch(prefix: str) -> Path:
    """A directory under /tmp the clusters' user may write (pytest's tmp is root's only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    owner = _owner()
    if owner:
        shutil.chown(path, owner, owner)
    return path


def run(*command: str | Path) -> str:
    owner = _owner()
    prefix = ["runuser", "-u", owner, "--"] if owner else []
    done = subprocess.run(
        [*prefix, *map(str, command)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")
    return done.stdout


@dataclass
class Cluster:
    """One PostgreSQL cluster: a data directory and a port."""

    data: Path
    port: int
    settings: dict[str, str]

    @classmethod
    def create(cls, root: Path, name: str, **settings: str) -> Cluster:
        cluster = cls(root / name, free_port(), settings)
        run(pg_bin() / "initdb", "-D", cluster.data, "-U", "postgres", "-A", "trust")
        return cluster

    @classmethod
    def standby_of(cls, primary: Cluster, root: Path, name: str, **settings: str) -> Cluster:
        """A streaming standby from a base backup of ``primary``, known to it as ``name``."""
        standby = cls(root / name, free_port(), settings)
        primary.base_backup(standby.data)
        standby.configure(
            "standby.signal",
            primary_conninfo=f"host=127.0.0.1 port={primary.port} user=postgres"
            f" application_name={name}",
        )
        return standby

    @classmethod
    def recovered(cls, base: Path, root: Path, name: str, **recovery: str) -> Cluster:
        """A cluster recovered from the base backup ``base`` as ``recovery`` says."""
        cluster = cls(root / name, free_port(), {})
        run("cp", "-a", base, cluster.data)
        cluster.configure("recovery.signal", **recovery)
        return cluster

    def configure(self, signal_file: str, **settings: str) -> None:
        """Add ``settings`` to postgresql.auto.conf and create ``signal_file``."""
        conf, signal_path = self.data / "postgresql.auto.conf", self.data / signal_file
        with conf.open("a") as out:
            out.writelines(f"{key} = '{value}'\n" for key, value in settings.items())
        signal_path.touch()
        owner = _owner()
        if owner:
            for path in (conf, signal_path):
                shutil.chown(path, owner, owner)

    def start(self) -> None:
        options = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.data),
            **self.settings,
        }
        line = " ".join(f"-c {key}={value}" for key, value in options.items())
        run(
            pg_bin() / "pg_ctl", "-D", self.data, "-l", self.data / "log", "-w", "-o", line, "start"
        )

    def stop(self) -> None:
        """Stop it if it runs (a killed one leaves only its pid file)."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists() and _running(int(pid_file.read_text().split()[0])):
            run(pg_bin() / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """Die as a crashed machine would: SIGKILL to the postmaster and every child."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [pid for pid in _pids() if _parent(pid) == postmaster]
        for pid in (postmaster, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def base_backup(self, target: Path) -> None:
        """A base backup of this running cluster into ``target``, with its WAL.

        The checkpoint it starts from is taken at once: the default spreads it over
        half of checkpoint_timeout, which here is a test waiting a hundred seconds.
        """
        run(pg_bin() / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", target, "-X", "stream", "--checkpoint=fast")  # fmt: skip

    def promote(self) -> None:
        run(pg_bin() / "pg_ctl", "-D", self.data, "-w", "promote")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as db:
            cursor = db.execute(sql)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def wait_for(
        self, sql: str, expected: object, timeout: float = 60, database: str = "postgres"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                rows = self.execute(sql, database)
                if rows and rows[0][0] == expected:
                    return
            except psycopg.OperationalError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{sql!r} did not give {expected!r} within {timeout} s")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _running(pid: int) -> bool:
    """Alive, not a zombie: a killed postmaster stays one where nothing reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
