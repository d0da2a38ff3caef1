"""Request models every domain's API shares."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Request(BaseModel):
    """A request body: a field the API does not know is refused (422), so a misspelt one never passes unseen."""

    model_config = ConfigDict(extra="forbid")


class Patch(Request):
    """A partial update: a field left out stays as it is; ``null`` is refused (422), but for the ``nullable``
    fields, which it clears."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k not in cls.nullable and k in cls.model_fields)
            if nulls:
                raise ValueError(f"{', '.join(nulls)} may not be null")
        return data

    def changes(self) -> dict[str, object]:
        """The fields given, as validated."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Address(Request):
    """A postal address: a customer's, a store's or a warehouse's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200, examples=["12 rue de Rivoli"])
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20, examples=["75004"])
    city: str = Field(min_length=1, max_length=100, examples=["Paris"])
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.", examples=["FR"])

    @model_validator(mode="after")
    def _upper_country(self) -> Address:
        self.country = self.country.upper()
        return self
