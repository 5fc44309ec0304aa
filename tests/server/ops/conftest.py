from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest


@pytest.fixture
def later() -> Iterator[ExitStack]:
    """What a test starts (clusters, servers, phones), stopped when it ends,
    whatever happened: the last started first."""
    with ExitStack() as stack:
        yield stack
