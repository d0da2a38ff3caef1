from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omnicanal.fulfillment.schemas import AlternativesOut
from omnicanal.orders.schemas import ShipTo

Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class RoutingLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: int = Field(gt=0, le=10_000)


class ExplainIn(BaseModel):
    """An order as it would be placed: which locations would send it, and why."""

    model_config = ConfigDict(extra="forbid")

    channel: Code = Field(examples=["web"])
    lines: list[RoutingLineIn] = Field(min_length=1, max_length=200)
    ship_to: ShipTo | None = None
    location: Code | None = Field(default=None, description="The shipping store the customer chose, if any.")


class CostOut(BaseModel):
    carrier: int
    handling: int
    picking: int
    split_penalty: int
    total: int


class ParcelLineOut(BaseModel):
    sku: str
    quantity: int


class ParcelOut(BaseModel):
    location: str
    lines: list[ParcelLineOut]
    distance_km: float | None = Field(description="Great-circle km to the address; null without coordinates.")
    carrier: int = Field(description="0 when the order already has a parcel leaving from this location.")
    handling: int
    picking: int
    cost: int


class PlanOut(BaseModel):
    parcels: list[ParcelOut]
    cost: CostOut
    currency: str


class AlternativeOut(BaseModel):
    locations: list[str]
    verdict: str = Field(description="chosen · dearer · more_parcels · equal_cost · no_stock · no_capacity · "
                                     "excluded · not_chosen_location")
    parcels: int | None = None
    cost: int | None = None
    missing: list[str] = Field(default_factory=list, description="no_stock: the SKUs lacking there.")
    plan: PlanOut | None = None


class ExplanationOut(BaseModel):
    chosen: PlanOut | None
    alternatives: list[AlternativeOut]
    shortages: list[str] = Field(description="SKUs no candidate location can send.")
    cost_model: dict[str, Any]


class DecisionOut(BaseModel):
    id: int
    trigger: str = Field(description="placed · rejected · batch")
    cost: int | None
    plan: dict[str, Any]
    at: datetime


class RejectionOut(BaseModel):
    id: int
    location: str
    reason: str
    lines: list[dict[str, Any]]
    note: str | None
    at: datetime


class OrderRoutingOut(BaseModel):
    order: str
    status: str
    decisions: list[DecisionOut] = Field(description="Newest first; the first is the current plan.")
    rejections: list[RejectionOut]


class RejectReason(StrEnum):
    NOT_IN_STOCK = "not_in_stock"  # the shelf is empty: count to zero sellable
    COUNT_MISMATCH = "count_mismatch"  # fewer than the system said: count set to ``counted``
    DAMAGED = "damaged"  # damaged or worn display: ``units`` taken out of sellable stock
    NO_VARIANCE = "no_variance"  # the stock is right (e.g. no time to prepare): unchanged


class RejectLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1)
    counted: int | None = Field(default=None, ge=0, le=1_000_000, description="count_mismatch: units on the shelf.")
    units: int | None = Field(default=None, gt=0, le=1_000_000, description="damaged: units found unsellable.")


class RejectIn(BaseModel):
    """A location refuses to send (some of) an order's lines; the reason decides the stock effect."""

    model_config = ConfigDict(extra="forbid")

    location: Code
    reason: RejectReason
    lines: list[RejectLineIn] | None = Field(
        default=None, max_length=200, description="The lines refused (default: every line sent from there).")
    counted: int | None = Field(default=None, ge=0, le=1_000_000,
                                description="count_mismatch of a single SKU: units on the shelf.")
    units: int | None = Field(default=None, gt=0, le=1_000_000, description="damaged of a single SKU: units.")
    note: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _figures_fit_the_reason(self) -> RejectIn:
        given_counted = self.counted is not None or any(li.counted is not None for li in self.lines or ())
        given_units = self.units is not None or any(li.units is not None for li in self.lines or ())
        if given_counted and self.reason is not RejectReason.COUNT_MISMATCH:
            raise ValueError("counted is only for reason count_mismatch")
        if given_units and self.reason is not RejectReason.DAMAGED:
            raise ValueError("units is only for reason damaged")
        if self.reason is RejectReason.COUNT_MISMATCH and not given_counted:
            raise ValueError("count_mismatch needs the counted units")
        if self.reason is RejectReason.DAMAGED and not given_units:
            raise ValueError("damaged needs the damaged units")
        numbers = [li.line_no for li in self.lines or ()]
        if len(numbers) != len(set(numbers)):
            raise ValueError("a line is named twice")
        return self


class StockEffectOut(BaseModel):
    sku: str
    location: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    on_hand: int
    reserved: int


class RoutedLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    location: str | None


class RejectOut(BaseModel):
    order: str
    status: str = Field(description="Ship order: confirmed when re-routed, backordered when some lines wait for "
                                    "stock. Pickup order: awaiting_customer.")
    lines: list[RoutedLineOut]
    rerouted: PlanOut | None = Field(description="Ship order: the new parcels of the refused lines.")
    waiting: list[str] = Field(description="Ship order: SKUs no other location can send: they wait for stock.")
    stock_effects: list[StockEffectOut]
    alternatives: AlternativesOut | None = Field(
        default=None, description="Pickup order: what to offer the customer (POST /orders/{id}/pickup/choice).")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_limit: float = Field(default=10.0, ge=0.1, le=300, description="Seconds the solver may take.")
    limit: int = Field(default=500, ge=1, le=5_000, description="At most this many waiting orders, oldest first.")
    orders: list[Code] | None = Field(default=None, max_length=5_000,
                                      description="Only these orders (those of them that are waiting).")


class MoveOut(BaseModel):
    order: str
    before: list[str]
    after: list[str]
    status: str


class BatchOut(BaseModel):
    considered: int = Field(description="Waiting orders in the batch.")
    changed: int = Field(description="Orders whose plan changed.")
    method: str = Field(description="mip · greedy · unchanged")
    solver_status: str
    seconds: float
    cost_before: int
    cost_after: int
    parcels_before: int
    parcels_after: int
    still_waiting: list[str] = Field(description="Backordered orders still without stock.")
    moves: list[MoveOut]
    notes: list[str]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handling_per_parcel: int = Field(ge=0, le=1_000_000, description="Cents per parcel.")
    picking_per_unit: int = Field(ge=0, le=1_000_000, description="Cents per unit.")
    daily_capacity: int | None = Field(ge=0, le=1_000_000, description="Orders a day; null: no limit.")


class ProfileOut(BaseModel):
    location: str
    kind: str
    ships: bool
    handling_per_parcel: int
    picking_per_unit: int
    daily_capacity: int | None
    routed_today: int = Field(description="Orders routed there today (the location's local date).")
    custom: bool = Field(description="false: the cost model's defaults for this kind of location.")
