from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from omnicanal.kit.schemas import Address, Patch, Request
from omnicanal.network import rules

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[48.8566])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[2.3522])]
SafetyBuffer = Annotated[int, Field(ge=0, le=1_000_000, description="Units per location withheld from "
                                    "what this channel may promise (online channels).")]


def _timezone(name: str) -> str:
    if not rules.is_timezone(name):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/Paris'")
    return name


Timezone = Annotated[str, StringConstraints(max_length=60), AfterValidator(_timezone)]
Interval = Annotated[list[str], Field(min_length=2, max_length=2, examples=[["09:00", "19:00"]])]
OpeningHours = Annotated[
    dict[str, Annotated[list[Interval], Field(max_length=12)]],
    AfterValidator(rules.normalise_opening_hours),
    Field(description="Local hours per day, mon … sun; a missing day is closed.",
          examples=[{"mon": [["09:00", "12:30"], ["14:00", "19:00"]], "sat": [["10:00", "18:00"]]}]),
]


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"


class Capability(StrEnum):
    SELLS = "sells"
    SHIPS = "ships"
    PICKUP = "pickup"
    RETURNS = "returns"


class ChannelKind(StrEnum):
    WEB = "web"
    APP = "app"
    POS = "pos"
    KIOSK = "kiosk"
    MARKETPLACE = "marketplace"
    SOCIAL = "social"


class Capabilities(BaseModel):
    sells: bool = Field(description="Sells to walk-in customers (has tills).")
    ships: bool = Field(description="Ships online orders (warehouse or ship-from-store).")
    pickup: bool = Field(description="Hands over click & collect orders.")
    returns: bool = Field(description="Takes back returns, whatever the channel of purchase.")


class CapabilitiesIn(Request):
    sells: bool | None = Field(default=None, description="Default: true for a store, false for a warehouse.")
    ships: bool | None = Field(default=None, description="Default: true for a warehouse, false for a store.")
    pickup: bool | None = Field(default=None, description="Default: false.")
    returns: bool | None = Field(default=None, description="Default: false.")


class LocationIn(Request):
    code: Code = Field(examples=["PAR-RIV"])
    name: Name
    kind: LocationKind
    address: Address
    latitude: Latitude
    longitude: Longitude
    timezone: Timezone | None = Field(default=None, description="IANA zone; default: the hub's time zone.")
    opening_hours: OpeningHours = Field(default_factory=dict)
    capabilities: CapabilitiesIn = Field(default_factory=CapabilitiesIn)
    active: bool = True


class LocationPatch(Patch):
    name: Name | None = None
    kind: LocationKind | None = None
    address: Address | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: Timezone | None = None
    opening_hours: OpeningHours | None = None
    capabilities: CapabilitiesIn | None = Field(default=None, description="Only the capabilities given change.")
    active: bool | None = None


class LocationOut(BaseModel):
    code: str
    name: str
    kind: str
    address: Address | None
    latitude: float
    longitude: float
    timezone: str
    opening_hours: dict[str, list[list[str]]]
    capabilities: Capabilities
    active: bool
    created_at: datetime
    updated_at: datetime


class ChannelIn(Request):
    code: Code = Field(examples=["web-fr"])
    name: Name
    kind: ChannelKind
    online: bool | None = Field(default=None, description="Default: true, except for a till (pos).")
    safety_buffer: SafetyBuffer = 0
    active: bool = True


class ChannelPatch(Patch):
    name: Name | None = None
    kind: ChannelKind | None = None
    online: bool | None = None
    safety_buffer: SafetyBuffer | None = None
    active: bool | None = None


class ChannelOut(BaseModel):
    code: str
    name: str
    kind: str
    online: bool
    safety_buffer: int
    active: bool
    created_at: datetime
    updated_at: datetime
