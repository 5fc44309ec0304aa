"""Console views ask reports (pages' reads), access.py (records by id, in scope)
and domain services (writes); none of them builds or runs a query itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CONSOLE = Path(__file__).parents[3] / "server" / "console"
RUNNING = {"execute", "scalar", "scalars", "get"}


def _queries(path: Path) -> list[str]:
    """Each select() built and each session.execute/scalar(s)/get run in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id == "select":
            found.append(f"{path.name}:{node.lineno} select()")
        elif isinstance(function, ast.Attribute) and (
            (function.attr in RUNNING and ast.unparse(function.value) == "db.session")
            # A bare ``session`` in a view may be Flask's cookie, whose get is a dict's.
            or (function.attr in RUNNING - {"get"} and ast.unparse(function.value) == "session")
        ):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(function)}()")
    return found


@pytest.mark.parametrize(
    "path",
    [*sorted((CONSOLE / "views").glob("*.py")), CONSOLE / "facts.py"],
    ids=lambda path: path.name,
)
def test_a_console_view_module_should_build_and_run_no_query(path: Path) -> None:
    assert _queries(path) == []


def test_the_job_handlers_should_build_no_query_of_their_own() -> None:
    # They load the job's own target and asker by id (session.get); every
    # query is a report's.
    assert _queries(CONSOLE / "downloads.py") == []
