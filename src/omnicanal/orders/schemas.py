from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omnicanal.kit.schemas import Address

Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class Fulfillment(StrEnum):
    SHIP = "ship"
    CARRY_OUT = "carry_out"
    PICKUP = "pickup"  # click & collect at ``location``


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class OrderStatus(StrEnum):
    CONFIRMED = "confirmed"
    BACKORDERED = "backordered"  # ship: some lines wait for stock no location could send
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    PREPARING = "preparing"
    AWAITING_CUSTOMER = "awaiting_customer"  # pickup: the store refused it; the customer chooses what next
    READY = "ready"
    COLLECTED = "collected"
    EXPIRED = "expired"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: int = Field(gt=0, le=10_000)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PaymentStatus
    reference: str | None = Field(default=None, max_length=120, description="The payment provider's reference.")


class ShipTo(Address):
    """Where a shipped order goes: a postal address (the country defaults to France), to whom, and where on the
    map. With coordinates, routing prices the carrier by distance; without, at the flat zone rate."""

    country: str = Field(default="FR", pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.",
                         examples=["FR"])
    name: str | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> ShipTo:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Code = Field(examples=["web"])
    fulfillment: Fulfillment
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    location: Code | None = Field(
        default=None, description="carry_out: the store of the till (required). ship: force this shipping location. "
                                  "pickup: the store where the customer collects (required).")
    ship_to: ShipTo | None = Field(default=None, description="ship: the delivery address (optional).")
    origin_location: Code | None = Field(
        default=None, description="Endless aisle: the store whose till or kiosk takes this order for goods it "
                                  "does not hold (credited in the KPIs). For a pickup on a till or kiosk it "
                                  "defaults to the pickup store.")
    allow_transfer: bool = Field(
        default=False, description="pickup: units the store lacks may come from another location by transfer, "
                                   "with a later promised ready time (see GET /api/v1/pickup-options).")
    customer: Code | None = Field(default=None, description="Customer id.")
    external_reference: str | None = Field(
        default=None, max_length=100, description="The channel's own order number (unique per channel).")
    payment: PaymentIn | None = None

    @model_validator(mode="after")
    def _store_for_till_sales(self) -> OrderIn:
        if self.fulfillment is Fulfillment.CARRY_OUT and self.location is None:
            raise ValueError("a carry_out sale needs the location of the till")
        if self.fulfillment is Fulfillment.PICKUP and self.location is None:
            raise ValueError("a pickup order needs the location (store) where it is collected")
        if self.ship_to is not None and self.fulfillment is not Fulfillment.SHIP:
            raise ValueError("ship_to is for ship orders")
        if self.allow_transfer and self.fulfillment is not Fulfillment.PICKUP:
            raise ValueError("allow_transfer is for pickup orders")
        return self


class OrderLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    location: str | None
    unit_list_price: int
    unit_price: int
    promotion_id: str | None
    line_total: int


class PaymentOut(BaseModel):
    status: str
    reference: str | None


class OrderOut(BaseModel):
    id: str
    channel: str
    status: str
    fulfillment: str
    location: str | None
    origin_location: str | None = None
    ship_to: ShipTo | None = None
    customer: str | None
    external_reference: str | None
    currency: str
    subtotal: int = Field(description="At list prices, minor units.")
    discount_total: int
    total: int
    payment: PaymentOut
    lines: list[OrderLineOut]
    created_at: datetime
    updated_at: datetime
