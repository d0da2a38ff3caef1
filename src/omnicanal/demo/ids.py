"""Deterministic ids of the same shape as :func:`omnicanal.kit.ids.new_id` (ULID-like, time-sortable)."""

from __future__ import annotations

import random
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32, as omnicanal.kit.ids
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]  # every 10-bit value as 2 characters
_SHIFTS = range(120, -1, -10)  # 26 characters = 13 pairs, most significant first


def demo_id(prefix: str, at: datetime, rng: random.Random) -> str:
    """``prefix_`` + 26 Crockford base-32 characters: 48 bits of ``at`` in milliseconds, 80 bits of ``rng``."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return f"{prefix}_{''.join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])}"
