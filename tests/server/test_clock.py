"""The server's clock stamps an admin's edits in the order they were made."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import server.clock
from server.clock import console_stamp


def test_console_edits_in_one_millisecond_or_after_the_clock_steps_back_are_stamped_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second edit in the same millisecond as the first, the third after
    # the server's clock was set back: each must still beat the one before.
    future = server.clock.now_ms() + 60_000
    times: Iterator[int] = iter([future, future, future - 5_000])
    monkeypatch.setattr(server.clock, "now_ms", lambda: next(times))
    admin = uuid.uuid4()
    first, second, third = (console_stamp(admin) for _ in range(3))
    assert first < second < third
    assert {first.node, second.node, third.node} == {f"server:{admin}"}
