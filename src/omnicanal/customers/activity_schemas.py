from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omnicanal.customers import rules


def _device(raw: str) -> str:
    return rules.normalise_identifier(rules.IdentifierKind.DEVICE, raw)


DeviceId = Annotated[str, StringConstraints(max_length=200), AfterValidator(_device),
                     Field(description="The browser, app install or device id the channel reports under.",
                           examples=["web-7f3a9c"])]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ActivityKind(StrEnum):
    PRODUCT_VIEW = "product_view"
    CART_ADD = "cart_add"
    SEARCH = "search"
    STORE_VISIT = "store_visit"


class ActivityIn(BaseModel):
    """One thing a device did. ``customer``: the channel knows who it is (signed in): the device is linked to
    them and its earlier anonymous activity stitched. A store visit is linked to a customer only when they
    consented to in-store tracking; otherwise it is counted anonymously, without the device."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    kind: ActivityKind
    at: datetime = Field(description="When it happened (timezone required).")
    channel: Code | None = Field(default=None, description="Default: the integration key's own channel.")
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    location: Code | None = Field(default=None, description="The store visited (store_visit: required).")
    search: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="What was searched for (search: required).")
    customer: Code | None = None

    @model_validator(mode="after")
    def _complete(self) -> ActivityIn:
        if self.at.tzinfo is None:
            raise ValueError("at needs a timezone (e.g. 2026-03-01T10:00:00Z)")
        needs = {ActivityKind.PRODUCT_VIEW: "sku", ActivityKind.CART_ADD: "sku",
                 ActivityKind.SEARCH: "search", ActivityKind.STORE_VISIT: "location"}[self.kind]
        if getattr(self, needs) is None:
            raise ValueError(f"a {self.kind.value} needs {needs}")
        return self


class ActivityBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ActivityIn] = Field(min_length=1, max_length=500)


class ActivityRecordedOut(BaseModel):
    recorded: int
    linked: int = Field(description="Recorded with a customer.")
    anonymous_visits: int = Field(description="Store visits counted without device or customer (no consent).")
    stitched: int = Field(description="Earlier anonymous activities now linked to a customer.")


class IdentifyIn(BaseModel):
    """The device signed in as this customer (a login, a checkout, a loyalty card scanned in the app)."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    customer: Code


class IdentifyOut(BaseModel):
    customer: str
    device_id: str
    stitched: int = Field(description="Earlier anonymous activities of the device now linked to the customer.")


class ActivityOut(BaseModel):
    kind: str
    at: datetime
    channel: str | None
    sku: str | None
    location: str | None
    search: str | None
