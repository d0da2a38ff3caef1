from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from omnicanal.kit.schemas import Request
from omnicanal.returns.rules import Condition, ReturnMethod, ReturnStatus

Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReturnLineIn(Request):
    sku: Sku | None = Field(default=None, description="The article returned (or give the order's line_no).")
    line_no: int | None = Field(default=None, ge=1, le=10_000, description="The order line returned.")
    quantity: int = Field(gt=0, le=10_000)
    condition: Condition = Field(default=Condition.SELLABLE,
                                 description="sellable: back on the shelf. damaged: to the damaged bin.")
    reason: str | None = Field(default=None, max_length=300, examples=["too small"])

    @model_validator(mode="after")
    def _names_a_line(self) -> ReturnLineIn:
        if self.sku is None and self.line_no is None:
            raise ValueError("name the returned line by sku or line_no")
        return self


class ReturnIn(Request):
    order_id: Code
    method: ReturnMethod = Field(description="in_store: the goods are at the counter (received at once). "
                                             "mail: announced now, received later at the returns location.")
    location: Code | None = Field(
        default=None, description="in_store: the store taking the return (required). mail: the returns location "
                                  "(default: OMNICANAL_RETURNS_LOCATION, else the first warehouse taking returns).")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _store_for_in_store_returns(self) -> ReturnIn:
        if self.method is ReturnMethod.IN_STORE and self.location is None:
            raise ValueError("an in_store return needs the location of the store taking it")
        return self


class InspectedLineIn(Request):
    line_no: int = Field(ge=1, le=10_000, description="The return's line (not the order's).")
    condition: Condition


class ReceiptIn(Request):
    lines: list[InspectedLineIn] = Field(
        default_factory=list, max_length=200,
        description="Conditions found on inspection, overriding those the customer declared.")


class RefundIn(Request):
    reference: str | None = Field(default=None, max_length=120, description="The payment provider's refund id.")


class ReturnLineOut(BaseModel):
    line_no: int
    order_line_no: int
    sku: str
    quantity: int
    condition: Condition
    reason: str | None
    refund_amount: int = Field(description="Minor units: this line's share of the refund.")
    restocked_at: str | None = Field(description="Where the units went: the location, or its damaged bin.")


class ReturnOut(BaseModel):
    id: str
    order_id: str
    customer: str | None
    channel: str = Field(description="The channel the order was placed on.")
    location: str = Field(description="Where the return is (or will be) received.")
    method: ReturnMethod
    status: ReturnStatus
    currency: str
    refund_amount: int = Field(description="Minor units, from what was paid (promotions included).")
    refund_reference: str | None
    lines: list[ReturnLineOut]
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    refunded_at: datetime | None
    cancelled_at: datetime | None


class ReturnableLineOut(BaseModel):
    line_no: int
    sku: str
    bought: int
    returned: int = Field(description="Units in returns not cancelled.")
    returnable: int
    paid: int = Field(description="Minor units paid for the whole line.")
    refunded: int = Field(description="Minor units those returns refund.")


class ReturnableOut(BaseModel):
    order_id: str
    order_status: str
    returnable: bool = Field(description="Whether the order's goods are in the customer's hands.")
    lines: list[ReturnableLineOut]
