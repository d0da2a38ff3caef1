"""Answers of the customer 360 view, the duplicates and the merges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnicanal.customers.activity_schemas import ActivityOut
from omnicanal.customers.schemas import CustomerOut
from omnicanal.orders.schemas import OrderOut


class ConsentStateOut(BaseModel):
    purpose: str
    granted: bool = Field(description="False also when the customer was never asked: consent is opt-in.")
    at: datetime | None
    channel: str | None
    policy_version: str | None


class ReturnLineSummary(BaseModel):
    sku: str
    quantity: int
    condition: str


class ReturnSummary(BaseModel):
    id: str
    order_id: str
    status: str
    method: str
    location: str
    currency: str
    refund_amount: int
    created_at: datetime
    lines: list[ReturnLineSummary]


class OrdersSummary(BaseModel):
    count: int = Field(description="Orders on every channel, all time.")
    shown: int
    by_channel: dict[str, int] = Field(description="Orders per channel among those shown.")
    items: list[OrderOut] = Field(description="Newest first, with lines, status and fulfilment.")
    more: str | None = Field(description="Where to read the older ones.")


class Unavailable(BaseModel):
    available: bool = False
    items: list[Any] = Field(default_factory=list)


class Customer360Out(BaseModel):
    """What an associate needs at the till: who the customer is, everything they did on every channel, and
    what they allowed."""

    profile: CustomerOut
    orders: OrdersSummary
    returns: list[ReturnSummary]
    store_visits: list[ActivityOut] = Field(description="Latest visits (only those consented to are known).")
    browsing: list[ActivityOut] = Field(description="Latest product views, cart additions and searches.")
    consents: list[ConsentStateOut]
    merged_records: list[str] = Field(description="Ids of the records merged into this one.")
    loyalty: Unavailable
    recommendations: Unavailable


class DuplicateOut(BaseModel):
    """A record probably of the same person, for someone to confirm (merge) or ignore."""

    customer: str
    duplicate: str
    score: int = Field(ge=0, le=100, description="How sure the hub is, out of 100.")
    reasons: list[str]
    duplicate_name: str
    duplicate_email: str | None
    duplicate_phone: str | None
    duplicate_postal_code: str | None
    duplicate_birth_date: date | None
    duplicate_created_at: datetime


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate: str = Field(min_length=1, max_length=40, description="The record merged into this one, then deleted.")
    reason: str | None = Field(default=None, max_length=500, examples=["same person: checked her loyalty card"])


class MergeOut(BaseModel):
    id: str
    survivor: str
    merged: str
    merged_by: str
    reason: str | None
    moved: dict[str, Any] = Field(description="Rows moved to the survivor, by table; `filled`: details taken over.")
    merged_at: datetime
