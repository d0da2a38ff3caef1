from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omnicanal.customers import rules
from omnicanal.customers.rules import IdentifierKind
from omnicanal.kit.clock import utcnow

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(rules.normalise_email),
                  Field(description="Stored trimmed and lower-cased.", examples=["anne.dupont@example.fr"])]
Phone = Annotated[str, StringConstraints(max_length=60), AfterValidator(rules.normalise_phone),
                  Field(description="Stored in E.164; without +country it is read as French.",
                        examples=["+33612345678"])]
LocationCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]


def _birth_date(born: date) -> date:
    return rules.check_birth_date(born, today=utcnow().date())


BirthDate = Annotated[date, AfterValidator(_birth_date)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(Request):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200, examples=["3 place Bellecour"])
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20, examples=["69002"])
    city: str = Field(min_length=1, max_length=100, examples=["Lyon"])
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.", examples=["FR"])

    @model_validator(mode="after")
    def _upper_country(self) -> Address:
        self.country = self.country.upper()
        return self


class IdentifierIn(Request):
    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=320, examples=["LOY-000123"])

    @model_validator(mode="after")
    def _normalise(self) -> IdentifierIn:
        self.value = rules.normalise_identifier(self.kind, self.value)
        return self


class CustomerIn(Request):
    """A new customer. Personal details: names, email, phone, birth date, address."""

    first_name: PersonName
    last_name: PersonName
    email: Email | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    address: Address | None = None
    home_location: LocationCode | None = Field(default=None, description="The store the customer belongs to.")
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=50,
                                            description="Also identified by; the email and phone are added.")


class CustomerPatch(Request):
    """Fields left out stay as they are; ``null`` clears the optional ones."""

    nullable: ClassVar[frozenset[str]] = frozenset({"email", "phone", "birth_date", "address", "home_location"})

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    email: Email | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    address: Address | None = None
    home_location: LocationCode | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k not in cls.nullable and k in cls.model_fields)
            if nulls:
                raise ValueError(f"{', '.join(nulls)} may not be null")
        return data


class IdentifierOut(BaseModel):
    kind: str
    value: str
    created_at: datetime


class CustomerOut(BaseModel):
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    address: Address | None
    home_location: str | None
    identifiers: list[IdentifierOut]
    created_at: datetime
    updated_at: datetime
