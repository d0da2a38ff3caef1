"""Money: an integer amount in minor units (cents) and an ISO-4217 currency — never a float."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=0, le=10**12, description="Amount in minor units (cents).", examples=[1999])
    currency: Currency = Field(description="ISO-4217 code.", examples=["EUR"])


def percent_of(amount: int, basis_points: int) -> int:
    """``amount × basis_points / 10 000`` rounded half up, in integer arithmetic."""
    return (amount * basis_points + 5_000) // 10_000
