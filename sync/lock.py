"""The app lock: the store's key opened with the cadre's PIN, or with the password.

The key is made at the first login (sealing whatever the store already
held), wrapped by the account password, and then by the PIN the cadre
chooses. Each wrong PIN is counted in the store; at MAX_WRONG_PINS the
PIN's wrap is erased, and only the account password (checked by the server
at a new login, and by its own wrap here) opens the store again. Nothing is
deleted on the way: records not yet sent stay sealed in the outbox and are
sent after that login.
"""

from __future__ import annotations

from enum import StrEnum

from sync.sqlite_store import SQLiteStore
from sync.vault import Locked, WrongSecret, new_key, unwrap, wrap

MAX_WRONG_PINS = 5
PIN = "pin"
PASSWORD = "password"
WRONG_PINS_KEY = "wrong_pins"


class LockState(StrEnum):
    # No key yet: a new phone, or a store from before encryption (plain).
    NEW = "new"
    # The key is wrapped by a PIN: ask for it.
    LOCKED = "locked"
    # No PIN wraps the key (too many wrong PINs, or none chosen yet): log in again.
    NEEDS_LOGIN = "needs_login"
    # The key is in memory, but no PIN wraps it yet: choose one.
    NEEDS_PIN = "needs_pin"
    OPEN = "open"


class LockedOut(Exception):
    """Too many wrong PINs: the cadre logs in again with the account password."""


class AppLock:
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    @property
    def state(self) -> LockState:
        has_pin = self.store.wrapped(PIN) is not None
        if self.store.unlocked:
            return LockState.OPEN if has_pin else LockState.NEEDS_PIN
        if self.store.wrapped(PASSWORD) is None:
            return LockState.NEW
        return LockState.LOCKED if has_pin else LockState.NEEDS_LOGIN

    @property
    def wrong_pins(self) -> int:
        return int(self.store.get_meta(WRONG_PINS_KEY) or 0)

    def open_with_password(self, password: str) -> None:
        """Before a new login: open a locked store with the account password.

        Raises WrongSecret when it is not the password the key was wrapped by.
        """
        wrapped = self.store.wrapped(PASSWORD)
        if wrapped is not None and not self.store.unlocked:
            self.store.unlock(unwrap(wrapped, password))

    def remember_password(self, password: str) -> None:
        """After a login the server accepted: wrap the key by this password
        (making the key, and sealing the store, at the first login)."""
        if not self.store.unlocked:
            if self.store.wrapped(PASSWORD) is not None:
                raise Locked("请先解锁 / unlock the app first")
            self.store.unlock(new_key())
        key = self.store.key
        assert key is not None
        self.store.save_wrapped(PASSWORD, wrap(key, password))

    def set_pin(self, pin: str) -> None:
        key = self.store.key
        if key is None:
            raise Locked("请先解锁 / unlock the app first")
        self.store.save_wrapped(PIN, wrap(key, pin))
        self.store.set_meta({WRONG_PINS_KEY: "0"})

    def open_with_pin(self, pin: str) -> None:
        """Unlock (or, when already open, check the PIN again after a pause).

        Raises WrongSecret for a wrong PIN, LockedOut for the last allowed one.
        """
        wrapped = self.store.wrapped(PIN)
        if wrapped is None:
            raise LockedOut("请用账号密码重新登录 / log in again with your password")
        try:
            key = unwrap(wrapped, pin)
        except WrongSecret:
            wrong = self.wrong_pins + 1
            self.store.set_meta({WRONG_PINS_KEY: str(wrong)})
            if wrong >= MAX_WRONG_PINS:
                self.store.save_wrapped(PIN, None)
                self.store.lock()
                raise LockedOut(
                    "PIN 错误次数太多，请用账号密码重新登录"
                    " / too many wrong PINs: log in again with your password"
                ) from None
            raise
        self.store.set_meta({WRONG_PINS_KEY: "0"})
        if not self.store.unlocked:
            self.store.unlock(key)
