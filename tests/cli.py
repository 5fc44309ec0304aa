"""The ``minqing`` command as users run it: the installed program in a process
of its own, so that what it prints and how it exits are what an operator sees."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

MINQING = Path(sys.executable).parent / "minqing"


def run_minqing(
    database_url: str,
    instance_path: Path,
    *args: str,
    memory: int | None = None,
    **environment: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``minqing *args`` on the database at ``database_url``, with ``environment``
    added to this process's, within ``memory`` bytes of address space if given.
    Whatever it is asked, it must never end in a traceback."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MINQING_INSTANCE_PATH": str(instance_path),
        **environment,
    }
    done = subprocess.run(
        [str(MINQING), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limit,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done
