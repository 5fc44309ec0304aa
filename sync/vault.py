"""The key of the phone's store, and how payloads are sealed with it.

The store's key is 32 random bytes made on the phone. It is never written
down in the clear: the store keeps it only wrapped (AES-GCM) by keys derived
with scrypt from the cadre's PIN and from the account password, each with
its own salt. A wrong PIN or password fails the wrap's authentication tag,
which is the verifier. Payloads (records, outbox entries, secret settings)
are sealed with AES-GCM under the store's key, bound to their row by the
associated data, so a sealed value moved to another row does not open.
See docs/mobile.md for why this and not SQLCipher.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# scrypt n=2**14, r=8: 16 MB and ~50–100 ms on a cheap phone (bench/mobile.py).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


class Locked(Exception):
    """The store is locked: unlock it with the PIN (or the password) first."""


class WrongSecret(Exception):
    """The PIN or password does not open the store's key."""


@dataclass(frozen=True)
class Wrapped:
    """The store's key wrapped by a key derived from a PIN or password."""

    salt: bytes
    n: int
    r: int
    p: int
    sealed: bytes


def wrap(key: bytes, secret: str) -> Wrapped:
    salt = os.urandom(16)
    kek = _derive(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return Wrapped(salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _seal(kek, key, b"store-key"))


def unwrap(wrapped: Wrapped, secret: str) -> bytes:
    kek = _derive(secret, wrapped.salt, wrapped.n, wrapped.r, wrapped.p)
    try:
        return _open(kek, wrapped.sealed, b"store-key")
    except InvalidTag:
        raise WrongSecret("PIN 或密码不对 / wrong PIN or password") from None


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


class Codec:
    """How the store writes payloads: sealed once it has a key, plain before.

    A store that has a key wrapped (``required``) but is not unlocked
    refuses to write or read payloads rather than fall back to plain text.
    Plain values (a store from before encryption) are read as they are
    until the unlock seals them.
    """

    def __init__(self, key: bytes | None = None, required: bool = False) -> None:
        self._aead = AESGCM(key) if key is not None else None
        self._required = required
        self.key = key

    @property
    def sealing(self) -> bool:
        return self._aead is not None

    def seal(self, text: str, context: str) -> str | bytes:
        if self._aead is None:
            if self._required:
                raise Locked("请先解锁 / unlock the app first")
            return text
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, text.encode(), context.encode())

    def seal_bytes(self, data: bytes, context: str) -> bytes:
        """Bytes (a photo's) as stored: sealed if ``sealing``, else as they are."""
        if self._aead is None:
            if self._required:
                raise Locked("请先解锁 / unlock the app first")
            return data
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def open_bytes(self, value: bytes, sealed: bool, context: str) -> bytes:
        if not sealed:
            return value
        if self._aead is None:
            raise Locked("请先解锁 / unlock the app first")
        return self._aead.decrypt(value[:NONCE_BYTES], value[NONCE_BYTES:], context.encode())

    def open(self, value: str | bytes, context: str) -> str:
        if isinstance(value, str):
            return value
        if self._aead is None:
            raise Locked("请先解锁 / unlock the app first")
        return self._aead.decrypt(
            value[:NONCE_BYTES], value[NONCE_BYTES:], context.encode()
        ).decode()


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES
    )


def _seal(key: bytes, plain: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, context)


def _open(key: bytes, sealed: bytes, context: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
