from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    HttpUrl,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    model_validator,
)

from omnicanal.catalog.rules import MAX_AMOUNT, promotion_terms_problem
from omnicanal.kit.money import Money
from omnicanal.kit.schemas import Patch, Request

_URL = TypeAdapter(HttpUrl)


def _http_url(value: object) -> str:
    """An http(s) URL, kept as text."""
    return str(_URL.validate_python(value))


Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")]
ChannelCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(max_length=20_000)]
AttributeName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Attributes = Annotated[dict[AttributeName, JsonValue], Field(max_length=200)]
ImageUrl = Annotated[str, BeforeValidator(_http_url), Field(json_schema_extra={"format": "uri"})]
ImageUrls = Annotated[list[ImageUrl], Field(max_length=50)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
SKU_DOC = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit."


class ProductIn(Request):
    sku: Sku = Field(description=SKU_DOC, examples=["LAMP-ARC-01"])
    name: Name = Field(examples=["Arc floor lamp"])
    price: Money = Field(description="Base price, in the retailer's currency.")
    description: Description = ""
    category: CategoryCode | None = Field(default=None, description="A category code.", examples=["home.lighting"])
    attributes: Attributes = Field(default_factory=dict, examples=[{"colour": "brass", "height_cm": 180}])
    image_urls: ImageUrls = Field(default_factory=list)
    active: bool = True


class ProductPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"category"})

    name: Name | None = None
    description: Description | None = None
    category: CategoryCode | None = None
    attributes: Attributes | None = None
    image_urls: ImageUrls | None = None
    active: bool | None = None
    price: Money | None = None


class ProductOut(BaseModel):
    sku: str
    name: str
    description: str
    category: str | None
    attributes: dict[str, JsonValue]
    image_urls: list[str]
    price: Money
    active: bool
    created_at: datetime
    updated_at: datetime


class CategoryIn(Request):
    code: CategoryCode = Field(examples=["home.lighting"])
    name: Name = Field(examples=["Lighting"])
    parent: CategoryCode | None = Field(default=None, examples=["home"])


class CategoryPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"parent"})

    name: Name | None = None
    parent: CategoryCode | None = Field(default=None, description="null makes it a top-level category.")


class CategoryOut(BaseModel):
    code: str
    name: str
    parent: str | None


class ChannelPriceIn(Request):
    amount: int = Field(ge=0, le=MAX_AMOUNT, description="Price on this channel, in minor units.")
    reason: Reason | None = Field(default=None, description="Why this channel's price differs (the audit asks).",
                                  examples=["marketplace fees"])
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class ChannelPriceOut(BaseModel):
    sku: str
    channel: str
    amount: int
    currency: str
    reason: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    updated_at: datetime


class QuoteOut(BaseModel):
    sku: str
    channel: str
    currency: str
    list_price: int = Field(description="Base price or the channel's own price, before promotion.")
    price: int = Field(description="What the customer pays per unit.")
    discount: int
    source: Literal["base", "channel"]
    promotion_id: str | None
    override_reason: str | None
    at: datetime


class PromotionIn(Request):
    name: Name = Field(examples=["Summer sale online"])
    kind: Literal["percent", "amount"]
    value: int = Field(ge=1, le=MAX_AMOUNT, description="Percent off (1–100) or minor units off.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    channels: list[ChannelCode] = Field(default_factory=list, max_length=100,
                                        description="Empty: every channel.")
    skus: list[Sku] = Field(default_factory=list, max_length=5_000)
    categories: list[CategoryCode] = Field(default_factory=list, max_length=500,
                                           description="With skus empty too: every product.")

    @model_validator(mode="after")
    def _terms(self) -> Self:
        problem = promotion_terms_problem(self.kind, self.value, self.starts_at, self.ends_at)
        if problem:
            raise ValueError(problem)
        return self


class PromotionPatch(Patch):
    name: Name | None = None
    kind: Literal["percent", "amount"] | None = None
    value: int | None = Field(default=None, ge=1, le=MAX_AMOUNT)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = Field(default=None, description="Set to now to end the promotion.")
    channels: list[ChannelCode] | None = Field(default=None, max_length=100)
    skus: list[Sku] | None = Field(default=None, max_length=5_000)
    categories: list[CategoryCode] | None = Field(default=None, max_length=500)
    active: bool | None = Field(default=None, description="false withdraws the promotion at once.")


class PromotionOut(BaseModel):
    id: str
    name: str
    kind: str
    value: int
    starts_at: datetime
    ends_at: datetime
    channels: list[str]
    skus: list[str]
    categories: list[str]
    active: bool
    created_at: datetime


class PriceDiscrepancyOut(BaseModel):
    sku: str
    base_price: int
    prices: dict[str, int] = Field(description="The effective price on every active channel.")
    unexplained_channels: list[str] = Field(
        description="Channels whose price differs from the base price without a promotion or a reasoned override.")

    @field_serializer("prices")
    def _sorted(self, prices: dict[str, int]) -> dict[str, int]:
        return dict(sorted(prices.items()))
