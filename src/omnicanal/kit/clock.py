"""The one place the hub reads the wall clock, so rules stay pure and tests can pass times in."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
