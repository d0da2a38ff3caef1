"""Consent rules — pure. Consent is opt-in: nothing is allowed for a purpose until the customer granted it,
and the latest grant or withdrawal made at or before a moment decides for that moment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Purpose(StrEnum):
    """What the retailer may want to do with a customer's data, each consented to separately."""

    MARKETING_EMAIL = "marketing_email"
    MARKETING_SMS = "marketing_sms"
    APP_PUSH = "app_push"
    PERSONALIZATION = "personalization"
    IN_STORE_TRACKING = "in_store_tracking"
    PROFILING = "profiling"  # analytics about the person (segments, scores)


class RequestKind(StrEnum):
    """The data subject's requests the hub records."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RETENTION = "retention"  # erasure decided by the retention period, not asked for


@dataclass(frozen=True)
class ConsentChoice:
    """One recorded grant (``granted=True``) or withdrawal; ``seq`` orders choices made at the same moment."""

    purpose: str
    granted: bool
    at: datetime
    seq: int = 0


def latest_choice(history: Iterable[ConsentChoice], purpose: str, at: datetime) -> ConsentChoice | None:
    """The choice for ``purpose`` in force at ``at``: the latest made at or before it."""
    latest: ConsentChoice | None = None
    for choice in history:
        if choice.purpose == purpose and choice.at <= at and (
                latest is None or (choice.at, choice.seq) >= (latest.at, latest.seq)):
            latest = choice
    return latest


def may(history: Iterable[ConsentChoice], purpose: str, at: datetime) -> bool:
    """May the retailer use the customer's data for ``purpose`` at ``at``? Only if their latest choice for it,
    made at or before ``at``, was a grant. No choice at all means no."""
    choice = latest_choice(history, purpose, at)
    return choice is not None and choice.granted
