"""Hybrid logical clocks: monotonic, causal, and not fooled by a wrong clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.hlc import MAX_DRIFT_MS, Clock, ClockError, Stamp

DAY_MS = 24 * 3600 * 1000
wall_times = st.integers(min_value=1_500_000_000_000, max_value=1_900_000_000_000)


class FakeWall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@given(
    st.lists(st.integers(min_value=-DAY_MS, max_value=DAY_MS), min_size=1, max_size=50), wall_times
)
def test_stamps_only_go_forward_even_when_the_wall_clock_jumps_back(
    jumps: list[int], start: int
) -> None:
    wall = FakeWall(start)
    clock = Clock("phone", now_ms=wall)
    previous = clock.now()
    for jump in jumps:
        wall.ms += jump
        stamp = clock.now()
        assert stamp > previous
        previous = stamp


@given(wall_times, st.integers(min_value=-3 * DAY_MS, max_value=MAX_DRIFT_MS))
def test_an_event_after_receiving_a_stamp_is_stamped_after_it(start: int, skew: int) -> None:
    sender = Clock("a", now_ms=FakeWall(start))
    receiver = Clock("b", now_ms=FakeWall(start - skew))
    sent = sender.now()
    receiver.observe(sent)
    assert receiver.now() > sent


def test_a_stamp_days_in_the_future_is_refused() -> None:
    clock = Clock("server", now_ms=FakeWall(1_700_000_000_000))
    with pytest.raises(ClockError, match="future"):
        clock.observe(Stamp(1_700_000_000_000 + 2 * DAY_MS, 0, "phone"))


@given(
    st.integers(min_value=0, max_value=2**47),
    st.integers(min_value=0, max_value=2**16 - 1),
    st.sampled_from(["a", "b", "0d5c"]),
)
def test_stamps_round_trip_as_strings_that_sort_like_the_stamps(
    ms: int, counter: int, node: str
) -> None:
    stamp = Stamp(ms, counter, node)
    assert Stamp.parse(str(stamp)) == stamp
    other = Stamp(ms, counter, node + "x")
    assert (str(stamp) < str(other)) == (stamp < other)


def test_a_malformed_stamp_is_refused_with_a_message() -> None:
    for text in ["", "abc", "zzzzzzzzzzzzzzzz@x", "0001@x", "0000000000000001"]:
        with pytest.raises(ClockError, match="malformed"):
            Stamp.parse(text)


def test_more_than_65536_events_in_a_millisecond_borrow_the_next_millisecond() -> None:
    clock = Clock("phone", now_ms=FakeWall(1_700_000_000_000))
    stamps = [clock.now() for _ in range(70_000)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_a_clock_corrected_by_the_server_forgets_stamps_it_made_far_in_the_future() -> None:
    wall = FakeWall(1_800_000_000_000 + 400 * DAY_MS)
    clock = Clock("phone", now_ms=wall)
    far = clock.now()
    clock.correct(-400 * DAY_MS)
    assert clock.now().wall_ms == wall.ms - 400 * DAY_MS
    assert clock.last is not None and clock.last < far


def test_a_correction_keeps_stamps_the_server_would_believe_so_time_never_runs_back() -> None:
    clock = Clock("phone", now_ms=FakeWall(1_800_000_000_000))
    seen = clock.now()
    clock.correct(-MAX_DRIFT_MS // 2)  # within what the server believes
    assert clock.now() > seen
