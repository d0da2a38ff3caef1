from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omnicanal.kit.schemas import Request

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MAX_UNITS = 1_000_000


class StockCount(Request):
    on_hand: int = Field(ge=0, le=MAX_UNITS, description="Units physically counted.")
    safety: int | None = Field(default=None, ge=0, le=MAX_UNITS, description="Safety stock to keep back.")
    reason: str | None = Field(default=None, max_length=300)


class StockReceipt(Request):
    quantity: int = Field(gt=0, le=MAX_UNITS)
    reference: str | None = Field(default=None, max_length=80, description="Delivery note or PO number.")


class StockAdjustment(Request):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS, description="Units added (positive) or removed (negative).")
    reason: str = Field(min_length=1, max_length=300, examples=["breakage"])

    @model_validator(mode="after")
    def _not_zero(self) -> StockAdjustment:
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class StockLevelOut(BaseModel):
    sku: str
    location: str
    on_hand: int
    reserved: int
    safety: int
    available: int = Field(description="on_hand − reserved − safety, never below 0.")


class MovementOut(BaseModel):
    id: int
    sku: str
    location: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reference: str | None
    reason: str | None
    created_at: datetime


class LocationAvailabilityOut(BaseModel):
    location: str
    available: int


class AvailabilityOut(BaseModel):
    sku: str
    channel: str | None
    total: int = Field(description="Units promisable network-wide on this channel.")
    locations: list[LocationAvailabilityOut]


class ReservationIn(Request):
    sku: Sku
    location: Code
    quantity: int = Field(gt=0, le=MAX_UNITS)
    channel: Code | None = None
    expires_in_seconds: int = Field(default=900, ge=1, le=14 * 24 * 3600,
                                    description="The hold lapses after this; default 15 minutes.")
    reference: str | None = Field(default=None, max_length=80, description="Cart, session or customer id.")


class ReservationOut(BaseModel):
    id: str
    sku: str
    location: str
    quantity: int
    status: str
    channel: str | None
    reference: str | None
    expires_at: datetime | None
    created_at: datetime
    closed_at: datetime | None


class TransferLineIn(Request):
    sku: Sku
    quantity: int = Field(gt=0, le=MAX_UNITS)


class TransferIn(Request):
    from_location: Code = Field(alias="from")
    to_location: Code = Field(alias="to")
    lines: list[TransferLineIn] = Field(min_length=1, max_length=500)
    reason: str | None = Field(default=None, max_length=300)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _distinct_skus(self) -> TransferIn:
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear once per transfer")
        return self


class TransferOut(BaseModel):
    id: str
    from_location: str = Field(serialization_alias="from")
    to_location: str = Field(serialization_alias="to")
    status: str
    reason: str | None
    lines: list[TransferLineIn]
    created_at: datetime
    received_at: datetime | None


class LedgerMismatchOut(BaseModel):
    sku: str
    location: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int
