"""The phone's store seals payloads with its key, and reads nothing without it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from sync.lock import MAX_WRONG_PINS, AppLock, LockedOut, LockState
from sync.sqlite_store import SQLiteStore
from sync.vault import Locked, WrongSecret


def test_a_sealed_store_reopened_without_its_key_reads_and_writes_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "phone.db")
    lock = AppLock(store)
    store.commit_local([("household", "h1", "h1", {"head_name": "林春武"})], [], {})
    lock.remember_password("minqing-demo")
    lock.set_pin("2580")
    store.close()

    store = SQLiteStore(tmp_path / "phone.db")
    lock = AppLock(store)
    assert lock.state is LockState.LOCKED
    with pytest.raises(Locked):
        store.record("household", "h1")
    with pytest.raises(Locked):
        store.commit_local([("household", "h2", "h2", {"head_name": "林二"})], [], {})
    with pytest.raises(WrongSecret):
        lock.open_with_pin("1111")
    lock.open_with_pin("2580")
    assert store.record("household", "h1") == {"id": "h1", "seq": 0, "head_name": "林春武"}
    assert lock.wrong_pins == 0


def test_a_sealed_record_moved_to_another_row_does_not_open(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "phone.db")
    AppLock(store).remember_password("minqing-demo")
    store.commit_local(
        [("household", "h1", "h1", {"head_name": "林一"}), ("household", "h2", "h2", {})], [], {}
    )
    store._db.execute(
        "UPDATE record SET data = (SELECT data FROM record WHERE id = 'h1') WHERE id = 'h2'"
    )
    with pytest.raises(InvalidTag):
        store.record("household", "h2")


def test_the_last_wrong_pin_erases_the_pins_wrap_and_the_password_still_opens_the_store(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "phone.db")
    lock = AppLock(store)
    lock.remember_password("minqing-demo")
    lock.set_pin("2580")
    store.commit_local([("visit", "v1", "h1", {"notes": "屋顶漏雨"})], [], {})
    store.lock()
    for _ in range(MAX_WRONG_PINS - 1):
        with pytest.raises(WrongSecret):
            lock.open_with_pin("0000")
    with pytest.raises(LockedOut):
        lock.open_with_pin("0000")
    assert lock.state is LockState.NEEDS_LOGIN
    with pytest.raises(LockedOut):
        lock.open_with_pin("2580")
    with pytest.raises(WrongSecret):
        lock.open_with_password("not-it")
    lock.open_with_password("minqing-demo")
    assert store.records("visit") == [{"id": "v1", "seq": 0, "notes": "屋顶漏雨"}]
    assert lock.state is LockState.NEEDS_PIN
