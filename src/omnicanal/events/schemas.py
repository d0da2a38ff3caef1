from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CloudEvent(BaseModel):
    specversion: str = "1.0"
    id: str
    source: str
    type: str = Field(examples=["order.created"])
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    sequence: int = Field(description="Position in the hub's event stream; poll with ?after=<sequence>.")
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[CloudEvent]
    next: int | None = Field(description="Pass as ?after= to get the following events (last sequence seen).")
