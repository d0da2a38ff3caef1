from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnicanal.privacy.rules import Purpose, RequestKind


class PrivacyPolicyOut(BaseModel):
    version: str = Field(examples=["2026-01"])
    controller: str = Field(description="Who is responsible for the data (the retailer).")
    format: str = "text/markdown"
    text: str


class ConsentIn(BaseModel):
    """A grant (``granted: true``) or withdrawal the customer made on a channel."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    granted: bool
    channel: str = Field(min_length=1, max_length=40, examples=["web"])
    policy_version: str | None = Field(default=None, min_length=1, max_length=40,
                                       description="The privacy policy shown (default: the current one).")
    source: str | None = Field(default=None, max_length=200, examples=["checkout checkbox"])
    at: datetime | None = Field(default=None, description="When the customer chose (default: now; timezone "
                                                         "required).")

    @model_validator(mode="after")
    def _aware(self) -> ConsentIn:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("at needs a timezone (e.g. 2026-03-01T10:00:00Z)")
        return self


class ConsentOut(BaseModel):
    purpose: str
    granted: bool
    at: datetime
    channel: str
    policy_version: str
    source: str | None
    recorded_by: str
    recorded_at: datetime


class ConsentStatus(BaseModel):
    purpose: str
    granted: bool = Field(description="In force now. False also when never asked: consent is opt-in.")
    since: datetime | None


class ConsentsOut(BaseModel):
    customer: str
    current: list[ConsentStatus]
    history: list[ConsentOut] = Field(description="Every grant and withdrawal, newest first.")


class ErasureOut(BaseModel):
    erased: bool = True
    anonymous_token: str = Field(description="What the customer's orders and requests now name instead of them.")
    request_id: str
    rows: dict[str, int] = Field(description="Rows deleted, anonymised or rewritten, by table.")


class PrivacyRequestOut(BaseModel):
    id: str
    kind: RequestKind
    customer: str = Field(description="The customer — or, after an erasure, their anonymous token.")
    requested_by: str
    requested_by_name: str
    requested_at: datetime
    outcome: str
    details: dict[str, Any]
