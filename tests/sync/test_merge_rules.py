"""The merge rules are order-independent: every replica reaches the same state."""

from __future__ import annotations

from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from sync.hlc import Stamp
from sync.merge import (
    AppendOutcome,
    ConflictKind,
    Register,
    StatusEvent,
    compare_append_only,
    fold_status,
    merge_field,
)

stamps = st.builds(
    Stamp,
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["phone-a", "phone-b", "server"]),
)
writes = st.lists(
    st.tuples(st.sampled_from(["13900000001", "13900000002", "0596-5880000"]), stamps),
    min_size=1,
    max_size=6,
    unique_by=lambda w: w[1],
)


def replay(order: list[tuple[str, Stamp]]) -> tuple[Register, set[tuple[str, str]]]:
    """Apply concurrent writes (all made on version 0) in this arrival order;
    the final register and the (value, stamp) of every loser kept."""
    current: Register | None = None
    losers: set[tuple[str, str]] = set()
    for seq, (value, stamp) in enumerate(order, start=1):
        outcome = merge_field("phones", current, Register(value, stamp), base_seq=0)
        if outcome.applied:
            current = Register(value, stamp, seq)
        if outcome.loser is not None:
            losers.add((outcome.loser.value, str(outcome.loser.stamp)))
    assert current is not None
    return current, losers


@given(writes, st.randoms(use_true_random=False))
def test_concurrent_writes_to_a_field_keep_the_latest_stamp_in_any_arrival_order(
    batch: list[tuple[str, Stamp]], rnd
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    winner, _ = replay(batch)
    other, _ = replay(shuffled)
    assert winner.value == other.value and winner.stamp == other.stamp
    assert winner.stamp == max(stamp for _, stamp in batch)


@given(writes, st.randoms(use_true_random=False))
def test_no_concurrent_value_is_lost_every_different_loser_is_kept_as_a_conflict(
    batch: list[tuple[str, Stamp]], rnd
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    winner, losers = replay(shuffled)
    lost_values = {value for value, _ in batch if value != winner.value}
    assert lost_values <= {value for value, _ in losers}
    assert str(winner.stamp) not in {stamp for _, stamp in losers}


@given(writes)
def test_merging_the_same_write_twice_changes_nothing(batch: list[tuple[str, Stamp]]) -> None:
    winner, _ = replay(batch)
    again = merge_field("phones", winner, Register(winner.value, winner.stamp), base_seq=0)
    assert not again.applied and again.conflict is None


def test_a_write_made_after_seeing_the_current_value_replaces_it_even_with_an_older_stamp() -> None:
    current = Register("13900000001", Stamp(100, 0, "server"), seq=7)
    later = merge_field(
        "phones", current, Register("13900000002", Stamp(90, 0, "phone-a")), base_seq=7
    )
    assert later.applied and later.conflict is None


def test_a_concurrent_write_of_the_same_value_is_not_a_conflict() -> None:
    current = Register("13900000001", Stamp(100, 0, "server"), seq=7)
    same = merge_field(
        "phones", current, Register("13900000001", Stamp(90, 0, "phone-a")), base_seq=3
    )
    assert not same.applied and same.conflict is None


def test_a_concurrent_losing_write_is_a_hard_conflict() -> None:
    current = Register("13900000001", Stamp(100, 0, "server"), seq=7)
    lost = merge_field(
        "phones", current, Register("13900000002", Stamp(90, 0, "phone-a")), base_seq=3
    )
    assert not lost.applied and lost.conflict is ConflictKind.HARD
    assert lost.loser is not None and lost.loser.value == "13900000002"


statuses = st.sampled_from(
    [
        "open",
        "passed_to_department",
        "in_progress",
        "solved",
        "solved_on_spot",
        "household_informed",
    ]
)
status_events = st.lists(
    st.builds(
        StatusEvent,
        id=st.uuids().map(str),
        stamp=stamps,
        status=statuses,
        base_status=st.one_of(st.none(), statuses),
        department=st.sampled_from(["", "县卫健局", "城管铜陵中队"]),
    ),
    max_size=6,
)


@given(status_events, st.randoms(use_true_random=False))
def test_an_issues_status_does_not_depend_on_the_order_its_events_arrived(events, rnd) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert fold_status("open", "", events) == fold_status("open", "", shuffled)


def test_a_concurrent_change_cannot_silently_reopen_a_solved_issue() -> None:
    solved = StatusEvent("1", Stamp(10, 0, "phone-a"), "solved", "in_progress")
    reopen = StatusEvent("2", Stamp(20, 0, "server"), "passed_to_department", "open")
    for order in permutations([solved, reopen]):
        state = fold_status("open", "", order)
        assert state.status == "solved"
        assert state.overruled == ("2",)


def test_a_deliberate_reopening_by_someone_who_saw_the_solution_takes_effect() -> None:
    solved = StatusEvent("1", Stamp(10, 0, "phone-a"), "solved", "open")
    reopen = StatusEvent("2", Stamp(20, 0, "server"), "in_progress", "solved")
    assert fold_status("open", "", [reopen, solved]).status == "in_progress"


def test_an_append_only_record_sent_again_is_a_duplicate_and_a_changed_one_is_refused() -> None:
    visit = {"notes": "了解医保政策", "kind": "home_visit"}
    assert compare_append_only(None, visit) is AppendOutcome.NEW
    assert compare_append_only(visit, dict(visit)) is AppendOutcome.DUPLICATE
    assert compare_append_only(visit, {**visit, "notes": "改了"}) is AppendOutcome.DIFFERENT
