from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator

from omnicanal.kit.schemas import Request
from omnicanal.tryon.rules import TryOnStatus

Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TryOnSettingsIn(Request):
    enabled: bool = True
    slot_minutes: int = Field(default=30, ge=5, le=240, description="Length of a slot.")
    capacity: int = Field(default=2, ge=0, le=1000, description="Bookings per slot (fitting rooms, staff).")
    grace_minutes: int = Field(default=30, ge=0, le=24 * 60,
                               description="How long the articles stay held after the slot ends.")
    max_items: int = Field(default=5, ge=1, le=50, description="Units one booking may hold.")
    horizon_days: int = Field(default=14, ge=0, le=90, description="How many days ahead slots may be booked.")


class TryOnSettingsOut(TryOnSettingsIn):
    location: str
    updated_at: datetime | None = Field(description="null: never configured (these are the defaults).")


class DayCapacityIn(Request):
    capacity: int | None = Field(ge=0, le=1000, description="Bookings per slot that day; null: the usual.")


class SlotOut(BaseModel):
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    remaining: int
    bookable: bool = Field(description="Not started, within the booking horizon, and not full.")


class TryOnDayOut(BaseModel):
    location: str
    date: date
    timezone: str
    slot_minutes: int
    capacity: int = Field(description="Bookings per slot this day.")
    slots: list[SlotOut]


class TryOnLineIn(Request):
    sku: Sku
    quantity: int = Field(gt=0, le=50)


class TryOnIn(Request):
    channel: Code = Field(description="The online channel booking it (web, app).", examples=["web"])
    location: Code = Field(description="The store.", examples=["PAR-RIV"])
    slot_start: AwareDatetime = Field(description="A slot's start, as listed by try-on-slots.")
    customer: Code | None = Field(default=None, description="Customer id (needed to count no-shows).")
    lines: list[TryOnLineIn] = Field(min_length=1, max_length=50)

    @field_validator("lines")
    @classmethod
    def _each_article_once(cls, lines: list[TryOnLineIn]) -> list[TryOnLineIn]:
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise ValueError("list each article once (with its quantity)")
        return lines


class PurchaseIn(Request):
    channel: Code = Field(description="A till's channel (pos: a carry-out sale of the held units at the store) or "
                                      "an online one (web, app: a ship order placed now).", examples=["pos"])
    lines: list[TryOnLineIn] = Field(min_length=1, max_length=50, description="What the customer buys.")


class TryOnLineOut(BaseModel):
    sku: str
    quantity: int
    bought: int
    reservation: str


class TryOnOut(BaseModel):
    id: str
    location: str
    channel: str
    customer: str | None
    status: TryOnStatus
    slot_start: datetime
    slot_end: datetime
    hold_until: datetime = Field(description="The articles are held until then (slot end + grace).")
    order_id: str | None = Field(description="The sale, once bought.")
    purchase_channel: str | None
    lines: list[TryOnLineOut]
    created_at: datetime
    updated_at: datetime
    checked_in_at: datetime | None
    closed_at: datetime | None


class CustomerTryOnsOut(BaseModel):
    customer: str
    total: int
    no_shows: int
    by_status: dict[str, int]
