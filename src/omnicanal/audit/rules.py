"""The audit log's vocabulary (pure)."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    ERASE = "erase"


def outcome_of(status: int | None) -> str:
    """``done`` for an answered request (or outside HTTP), ``refused`` for a 4xx, ``failed`` for a 5xx."""
    if status is None or status < 400:
        return "done"
    return "refused" if status < 500 else "failed"
