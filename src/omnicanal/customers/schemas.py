from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from omnicanal.customers import rules
from omnicanal.customers.rules import IdentifierKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.schemas import Address, Patch, Request

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


class CustomerPatch(Patch):
    """Fields left out stay as they are; ``null`` clears the optional ones."""

    nullable: ClassVar[frozenset[str]] = frozenset({"email", "phone", "birth_date", "address", "home_location"})

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    email: Email | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    address: Address | None = None
    home_location: LocationCode | None = None



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
