"""Encryption at rest of personal data, and blind indexes that still find it.

A value is *sealed* with AES-256-GCM (random 96-bit nonce) under the current key of the keyring, and bound to
its purpose (e.g. ``customer.email``) as associated data, so a ciphertext copied into another column does not
open. The stored form is ``enc1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``; the key id (first 8 hex
digits of the key's SHA-256) says which key opens it, so older keys keep opening older rows until
``omnicanal gdpr rotate-key`` re-seals them under the current one.

Sealed columns cannot be searched; a *blind index* (HMAC-SHA256 under a separate key) of a normalised value
finds a row by equality without revealing the value.

Keys come from settings: ``OMNICANAL_ENCRYPTION_KEYS`` (comma-separated, base64url of 32 bytes, the first is
current) and ``OMNICANAL_BLIND_INDEX_KEY``. When unset, development keys derived from a public constant are
used and a loud warning is logged: such data is encrypted in form only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from omnicanal.config import Settings

log = logging.getLogger("omnicanal")
PREFIX = "enc1:"
_BYTES_PREFIX = PREFIX.encode()
_NONCE = 12
_DEV_SEED = b"omnicanal development key - public, never for real data"
_warned: list[bool] = []  # the development-key warning is given once per process


class KeyringError(ValueError):
    """A key in the configuration is malformed, or a stored value names a key the keyring does not hold."""


def new_key() -> str:
    """A fresh 256-bit key, written as ``OMNICANAL_ENCRYPTION_KEYS`` and ``OMNICANAL_BLIND_INDEX_KEY`` expect."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _decode_key(text: str, setting: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyringError(f"{setting}: a key is not base64url text ({exc}).") from exc
    if len(raw) != 32:
        raise KeyringError(f"{setting}: each key must be 32 bytes (44 base64url characters); one is {len(raw)}.")
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """The encryption keys (first is current) and the blind-index key. ``enabled=False`` stores clear text
    (only for measuring what encryption costs); clear text already stored is always read back as is."""

    keys: tuple[bytes, ...]
    index_key: bytes
    enabled: bool = True
    development: bool = False
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("A keyring needs at least one encryption key.")
        for key in self.keys:
            self._ciphers[key_id(key)] = AESGCM(key)

    @functools.cached_property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    def seal(self, clear: str, purpose: str) -> str:
        """``clear`` encrypted under the current key (returned unchanged when already sealed by this keyring)."""
        if not self.enabled or self._opens(clear, purpose):
            return clear
        current, nonce = self.current_id, os.urandom(_NONCE)
        sealed = self._ciphers[current].encrypt(nonce, clear.encode(), purpose.encode())
        return f"{PREFIX}{current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def unseal(self, stored: str, purpose: str) -> str:
        """The clear text of a stored value (clear text stored before encryption is returned as is)."""
        if not stored.startswith(PREFIX):
            return stored
        _, kid, body = stored.split(":", 2)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeyringError(f"A value was sealed with key {kid}, which OMNICANAL_ENCRYPTION_KEYS no longer holds.")
        raw = base64.urlsafe_b64decode(body)
        return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], purpose.encode()).decode()

    def is_current(self, stored: str | bytes | None) -> bool:
        """Whether a stored value is sealed under the current key (``None`` counts as current: nothing to do)."""
        if stored is None:
            return True
        text = stored.decode(errors="replace") if isinstance(stored, bytes) else stored
        return not self.enabled or text.startswith(f"{PREFIX}{self.current_id}:")

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash of ``value`` (already normalised): equal values give equal digests, nothing else shows."""
        return hmac.new(self.index_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def _opens(self, text: str, purpose: str) -> bool:
        if not text.startswith(PREFIX) or text.count(":") < 2:
            return False
        try:
            self.unseal(text, purpose)
        except (KeyringError, InvalidTag, ValueError, binascii.Error):
            return False
        return True

    @classmethod
    def plain(cls) -> Keyring:
        """A keyring that stores clear text (benchmarks of the cost of encryption only)."""
        return cls(keys=(_derive(b"encryption"),), index_key=_derive(b"blind-index"), enabled=False,
                   development=True)


def _derive(label: bytes) -> bytes:
    return hashlib.sha256(_DEV_SEED + b"/" + label).digest()


def keyring_from(settings: Settings) -> Keyring:
    """The keyring the settings describe; development keys (and a warning) when they name none."""
    texts = [k for k in (settings.encryption_keys or "").split(",") if k.strip()]
    keys = tuple(_decode_key(k, "OMNICANAL_ENCRYPTION_KEYS") for k in texts)
    index = _decode_key(settings.blind_index_key, "OMNICANAL_BLIND_INDEX_KEY") if settings.blind_index_key else None
    development = not keys or index is None
    if development and not _warned:
        _warned.append(True)
        log.warning(
            "\n%s\n!! OMNICANAL_ENCRYPTION_KEYS and/or OMNICANAL_BLIND_INDEX_KEY are not set: personal data is\n"
            "!! encrypted with DEVELOPMENT keys derived from a public constant — anyone can decrypt it.\n"
            "!! Generate real keys with `omnicanal gdpr new-key` before storing any real customer.\n%s",
            "!" * 100, "!" * 100)
    return Keyring(keys=keys or (_derive(b"encryption"),), index_key=index or _derive(b"blind-index"),
                   development=development)


_installed: Keyring | None = None


def keyring() -> Keyring:
    """The process's keyring (configured from the process settings on first use)."""
    if _installed is None:
        from omnicanal.config import get_settings

        install(keyring_from(get_settings()))
    assert _installed is not None
    return _installed


def install(ring: Keyring) -> Keyring | None:
    """Make ``ring`` the process's keyring; returns the previous one."""
    global _installed
    previous, _installed = _installed, ring
    return previous


def configure(settings: Settings) -> Keyring:
    """Install the keyring ``settings`` describe (the app and every CLI command do this at start)."""
    ring = keyring_from(settings)
    install(ring)
    return ring


@contextmanager
def using(ring: Keyring) -> Iterator[Keyring]:
    """Use ``ring`` within the block (tests, benchmarks, key rotation)."""
    previous = install(ring)
    try:
        yield ring
    finally:
        if previous is not None:
            install(previous)


# --- column types --------------------------------------------------------------------------------------------
class _Sealed(TypeDecorator[Any]):
    """A column stored sealed and read back clear. It cannot be compared in SQL: find rows by a blind index."""

    impl = Text
    cache_ok = True
    seals = True  # tells bulk loaders that bypass SQLAlchemy (COPY) to seal values themselves

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def to_text(self, value: Any) -> str:
        return str(value)

    def from_text(self, text: str) -> Any:
        return text

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(self.to_text(value), self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.from_text(keyring().unseal(value, self.purpose))

    class comparator_factory(TypeDecorator.Comparator[Any]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op.__name__ not in ("is_", "is_not"):
                raise TypeError("A sealed column cannot be searched in SQL: look it up by its blind index.")
            return super().operate(op, *other, **kwargs)


class SealedText(_Sealed):
    """A sealed ``str``."""

    cache_ok = True


class SealedDate(_Sealed):
    """A sealed ``date`` (ISO text inside)."""

    cache_ok = True

    def to_text(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)

    def from_text(self, text: str) -> Any:
        return date.fromisoformat(text)


class SealedJSON(_Sealed):
    """A sealed JSON document (``dict``)."""

    cache_ok = True

    def to_text(self, value: Any) -> str:
        if isinstance(value, str):  # already serialised — and sealed unless encryption is off — by a bulk loader
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

    def from_text(self, text: str) -> Any:
        return json.loads(text)


class SealedBytes(TypeDecorator[bytes]):
    """Sealed bytes (e.g. a stored HTTP answer that may hold personal data)."""

    impl = LargeBinary
    cache_ok = True
    seals = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        text = base64.b64encode(value).decode()
        return keyring().seal(text, self.purpose).encode() if keyring().enabled else value

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None or not bytes(value).startswith(_BYTES_PREFIX):
            return value
        return base64.b64decode(keyring().unseal(bytes(value).decode(), self.purpose))


def unseal_any(stored: str, purpose: str) -> str | None:
    """The clear text of a stored sealed value, or ``None`` when it does not open (tests, erasure checks)."""
    try:
        return keyring().unseal(stored, purpose)
    except (KeyringError, InvalidTag, ValueError, binascii.Error):
        return None
