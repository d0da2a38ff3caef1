from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from omnicanal.fulfillment.rules import Alternative, Resolution, ShortReason
from omnicanal.kit.money import Money
from omnicanal.kit.schemas import Request
from omnicanal.orders.schemas import Code, OrderOut, ShipTo

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# --- settings and options -----------------------------------------------------------------------------------
class PickupSettingsIn(Request):
    preparation_minutes: int = Field(ge=0, le=7 * 24 * 60, examples=[120],
                                     description="Opening minutes the store needs to prepare an order.")
    holding_days: int = Field(ge=1, le=60, examples=[5], description="Days a ready order waits for its customer.")
    transfer_hours: int = Field(ge=0, le=30 * 24, examples=[48],
                                description="Hours for goods sent from another location to arrive.")


class PickupSettingsOut(PickupSettingsIn):
    location: str


class CartLineOut(BaseModel):
    sku: str
    quantity: int


class LineAvailabilityOut(BaseModel):
    sku: str
    requested: int
    available: int = Field(description="Units this store can promise on the channel.")


class TransferSourceOut(BaseModel):
    sku: str
    location: str = Field(description="Where the units would come from.")
    quantity: int


class TransferOptionOut(BaseModel):
    ready_at: datetime | None = Field(description="Promised ready time with the goods sent from elsewhere.")
    sources: list[TransferSourceOut]


class PickupOptionOut(BaseModel):
    location: str
    name: str
    distance_km: float | None = Field(description="From the point given (lat, lon), if any.")
    in_stock: bool = Field(description="The store holds every unit: ready soonest.")
    ready_at: datetime | None = Field(description="Promised ready time when in stock (store's local hours).")
    lines: list[LineAvailabilityOut]
    transfer: TransferOptionOut | None = Field(
        description="When not in stock: the cart can still be collected here, later, with allow_transfer.")


class PickupOptionsOut(BaseModel):
    channel: str
    lines: list[CartLineOut]
    options: list[PickupOptionOut]


# --- preparation and handover -------------------------------------------------------------------------------
class PickLineOut(BaseModel):
    line_no: int
    sku: str
    name: str
    quantity: int
    status: str = Field(description="in_store | awaiting_dispatch | in_transit")
    from_location: str | None
    transfer_id: str | None


class PickupOut(BaseModel):
    order_id: str
    location: str
    state: str = Field(description="awaiting_goods | to_prepare | preparing | awaiting_customer (refused by the "
                                   "store) | ready | collected | expired | cancelled")
    order_status: str
    channel: str
    customer: str | None
    origin_location: str | None
    ordered_at: datetime
    promised_at: datetime | None
    started_at: datetime | None
    ready_at: datetime | None
    expires_at: datetime | None = Field(description="End of the holding period of a ready order.")
    collected_at: datetime | None
    expired_at: datetime | None
    refused_at: datetime | None = Field(description="When the store last refused the order.")
    decide_by: datetime | None = Field(description="A refused order: the customer's answer is awaited until "
                                                   "then; after, the order is cancelled.")
    code_attempts: int = Field(description="Wrong pickup codes tried since the code was issued.")
    locked: bool = Field(description="Too many wrong codes: a new code must be issued.")
    short_picks: int
    lines: list[PickLineOut]


class ReadyOut(PickupOut):
    code: str = Field(description="The pickup code — shown once; also in the pickup.ready event.")
    qr_payload: str = Field(examples=["omnicanal:pickup:ord_01J…:7KQ2M9XD"])


class CollectIn(Request):
    code: str = Field(min_length=1, max_length=200, description="The pickup code, or the scanned QR payload.")


class ShortPickIn(Request):
    sku: Sku
    quantity: int = Field(gt=0, le=10_000)
    reason: ShortReason
    resolution: Resolution = Field(description="transfer: re-source from another location; cancel: take the "
                                               "units off the order (refund due).")
    note: str | None = Field(default=None, max_length=300)


class SourceOut(BaseModel):
    location: str
    quantity: int


class ShortPickOut(BaseModel):
    pickup: PickupOut
    sku: str
    quantity: int
    reason: str
    resolution: str
    sources: list[SourceOut]
    refund: int = Field(description="Minor units no longer owed by the customer.")


class GoodsMovedOut(BaseModel):
    pickup: PickupOut
    transfers: list[str]


# --- parcels ------------------------------------------------------------------------------------------------
class ShipmentLineIn(Request):
    line_no: int = Field(ge=1, le=10_000)
    quantity: int | None = Field(default=None, gt=0, le=10_000, description="Default: all that is left of it.")


class ShipmentIn(Request):
    carrier: str = Field(min_length=1, max_length=60, examples=["colissimo"])
    tracking_number: str = Field(min_length=1, max_length=100, examples=["6A12345678901"])
    cost: Money | None = Field(default=None, description="What the carrier charges for this parcel.")
    lines: list[ShipmentLineIn] | None = Field(default=None, min_length=1, max_length=200,
                                               description="Default: everything left to ship.")

    @model_validator(mode="after")
    def _lines_once(self) -> ShipmentIn:
        numbers = [line.line_no for line in self.lines or []]
        if len(set(numbers)) != len(numbers):
            raise ValueError("each order line may appear once per parcel")
        return self


class ShipmentLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int


class ShipmentOut(BaseModel):
    id: str
    order_id: str
    location: str | None = Field(description="Where the parcel left from.")
    carrier: str | None
    tracking_number: str | None
    cost: Money | None
    status: str = Field(description="shipped | delivered")
    shipped_at: datetime
    delivered_at: datetime | None
    lines: list[ShipmentLineOut]


# --- the store refuses; the customer chooses ----------------------------------------------------------------
class AlternativesOut(BaseModel):
    """What the customer of an order refused by its pickup store may choose (POST …/pickup/choice)."""

    order_id: str
    refused_by: str
    decide_by: datetime | None = Field(description="Without an answer by then, the order is cancelled.")
    another_store: list[PickupOptionOut] = Field(
        description="Stores that can have the whole order, nearest to the refusing store first.")
    delivery: bool = Field(description="Whether the whole order can be shipped now (choice delivery).")
    cancel_refund: int = Field(description="What cancelling gives back, minor units (0 when nothing was paid).")


class ChoiceIn(Request):
    choice: Alternative
    store: Code | None = Field(
        default=None, description="another_store: where the customer will collect the order.")
    allow_transfer: bool = Field(default=True, description="another_store: what it lacks may come from "
                                                           "elsewhere, with a later promise.")
    ship_to: ShipTo | None = Field(default=None, description="delivery: where to ship the order.")

    @model_validator(mode="after")
    def _what_the_choice_needs(self) -> ChoiceIn:
        if (self.store is not None) != (self.choice is Alternative.ANOTHER_STORE):
            raise ValueError("store is given with, and only with, choice another_store")
        if (self.ship_to is not None) != (self.choice is Alternative.DELIVERY):
            raise ValueError("ship_to is given with, and only with, choice delivery")
        return self


class ChoiceOut(BaseModel):
    choice: Alternative
    refused_by: str
    order: OrderOut
    pickup: PickupOut | None = Field(description="another_store: the order at its new store.")
