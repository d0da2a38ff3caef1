"""Locations (stores, warehouses) and channels: the registry every other domain reads.

Other domains call :func:`get_location`, :func:`get_channel` and :func:`list_locations`; the rest serves
the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.kit.prebuilt import Prebuilt, Read
from omnicanal.network.errors import (
    CapabilityUnknown,
    ChannelAlreadyExists,
    ChannelNotFound,
    LocationAlreadyExists,
    LocationNotFound,
)
from omnicanal.network.models import Channel, Location
from omnicanal.network.rules import CAPABILITIES
from omnicanal.network.schemas import ChannelIn, ChannelPatch, LocationIn, LocationPatch

LOCATION_COLUMNS = ("name", "kind", "address", "latitude", "longitude", "timezone", "opening_hours", "active")
CHANNEL_COLUMNS = ("name", "kind", "online", "safety_buffer", "active")


async def get_location(session: AsyncSession, code: str) -> Location:
    """The location ``code``, active or not; :class:`LocationNotFound` when there is none."""
    location = await session.get(Location, code)
    if location is None:
        raise LocationNotFound(f"No location {code}.")
    return location


async def get_channel(session: AsyncSession, code: str) -> Channel:
    """The channel ``code``, active or not; :class:`ChannelNotFound` when there is none."""
    channel = await session.get(Channel, code)
    if channel is None:
        raise ChannelNotFound(f"No channel {code}.")
    return channel


@dataclass(frozen=True)
class ChannelTerms:
    """What selling on a channel needs to know of it (read on every order and availability request)."""

    code: str
    kind: str
    online: bool
    safety_buffer: int
    active: bool

    @property
    def promise_buffer(self) -> int:
        """Units per location this channel may not promise (tills and kiosks sell what is there)."""
        return self.safety_buffer if self.online else 0


_CHANNEL = Channel.__table__.c
_CHANNEL_TERMS = Prebuilt(select(_CHANNEL.code, _CHANNEL.kind, _CHANNEL.online, _CHANNEL.safety_buffer,
                                  _CHANNEL.active).where(_CHANNEL.code == bindparam("b_code")))


def channel_terms_read(code: str) -> Read:
    """What :func:`channel_terms` reads (to send it ahead with others)."""
    return _CHANNEL_TERMS, {"b_code": code}


async def channel_terms(session: AsyncSession, code: str) -> ChannelTerms:
    """:func:`get_channel`'s answer as plain terms, read with a prebuilt statement rather than the ORM (the
    hot paths' way: an ORM load costs more than the query). :class:`ChannelNotFound` when there is none."""
    row = await _CHANNEL_TERMS.first(session, channel_terms_read(code)[1])
    if row is None:
        raise ChannelNotFound(f"No channel {code}.")
    return ChannelTerms(row.code, row.kind, row.online, row.safety_buffer, row.active)


async def list_locations(
    session: AsyncSession, *, capability: str | None = None, active: bool | None = True,
    capabilities: Sequence[str] = (), kind: str | None = None, after_code: str | None = None,
    limit: int | None = None,
) -> list[Location]:
    """Locations by code: only active ones unless ``active`` is ``False`` (inactive) or ``None`` (all);
    with ``capability``/``capabilities`` only those that have every one (``sells``, ``ships``, ``pickup``,
    ``returns``)."""
    wanted = [*capabilities, *([capability] if capability else [])]
    unknown = sorted(set(wanted) - set(CAPABILITIES))
    if unknown:
        raise CapabilityUnknown(f"Unknown capability {unknown[0]!r}: use {', '.join(CAPABILITIES)}.")
    query = select(Location).where(*(getattr(Location, name).is_(True) for name in wanted))
    if active is not None:
        query = query.where(Location.active.is_(active))
    if kind is not None:
        query = query.where(Location.kind == kind)
    if after_code is not None:
        query = query.where(Location.code > after_code)
    return list((await session.scalars(query.order_by(Location.code).limit(limit))).all())


async def list_channels(
    session: AsyncSession, *, kind: str | None = None, online: bool | None = None, active: bool | None = None,
    after_code: str | None = None, limit: int | None = None,
) -> list[Channel]:
    """Channels by code, optionally of one kind, online or not, active or not."""
    query = select(Channel)
    if kind is not None:
        query = query.where(Channel.kind == kind)
    if online is not None:
        query = query.where(Channel.online.is_(online))
    if active is not None:
        query = query.where(Channel.active.is_(active))
    if after_code is not None:
        query = query.where(Channel.code > after_code)
    return list((await session.scalars(query.order_by(Channel.code).limit(limit))).all())


def location_data(location: Location) -> dict[str, Any]:
    """A location as event data (nothing personal in it)."""
    return {
        "code": location.code, "name": location.name, "kind": location.kind, "active": location.active,
        "timezone": location.timezone, "latitude": location.latitude, "longitude": location.longitude,
        "capabilities": {name: getattr(location, name) for name in CAPABILITIES},
    }


def channel_data(channel: Channel) -> dict[str, Any]:
    return {"code": channel.code, "name": channel.name, "kind": channel.kind, "online": channel.online,
            "safety_buffer": channel.safety_buffer, "active": channel.active}


async def create_location(session: AsyncSession, *, location: LocationIn, default_timezone: str) -> Location:
    """Open a store or warehouse. Capabilities not given default by kind: a store sells, a warehouse ships."""
    if await session.get(Location, location.code) is not None:
        raise LocationAlreadyExists(f"Location {location.code} already exists.")
    given = location.capabilities
    is_store = location.kind == "store"
    now = utcnow()
    row = Location(
        code=location.code, name=location.name, kind=location.kind.value,
        address=location.address.model_dump(exclude_none=True), latitude=location.latitude,
        longitude=location.longitude, timezone=location.timezone or default_timezone,
        opening_hours=location.opening_hours, active=location.active, created_at=now, updated_at=now,
        sells=is_store if given.sells is None else given.sells,
        ships=(not is_store) if given.ships is None else given.ships,
        pickup=bool(given.pickup), returns=bool(given.returns),
    )
    session.add(row)
    await session.flush()
    await record_event(session, "location.created", row.code, location_data(row))
    return row


async def update_location(session: AsyncSession, *, code: str, changes: LocationPatch) -> Location:
    """Change what is given; records ``location.updated`` naming the changed fields (none: no event)."""
    location = await get_location(session, code)
    given = changes.model_dump(exclude_unset=True, mode="json")
    wanted = {k: v for k, v in given.items() if k in LOCATION_COLUMNS}
    if "address" in wanted:
        wanted["address"] = changes.address.model_dump(exclude_none=True) if changes.address else {}
    wanted |= {k: v for k, v in (given.get("capabilities") or {}).items() if v is not None}
    changed = _apply(location, wanted)
    if changed:
        location.updated_at = utcnow()
        await session.flush()
        await record_event(session, "location.updated", code, {**location_data(location), "changed": changed})
    return location


async def create_channel(session: AsyncSession, *, channel: ChannelIn) -> Channel:
    """Register a sales channel; unless told, every channel but a till (``pos``) is online."""
    if await session.get(Channel, channel.code) is not None:
        raise ChannelAlreadyExists(f"Channel {channel.code} already exists.")
    now = utcnow()
    row = Channel(code=channel.code, name=channel.name, kind=channel.kind.value,
                  online=channel.kind != "pos" if channel.online is None else channel.online,
                  safety_buffer=channel.safety_buffer, active=channel.active, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    await record_event(session, "channel.created", row.code, channel_data(row))
    return row


async def update_channel(session: AsyncSession, *, code: str, changes: ChannelPatch) -> Channel:
    """Change what is given; records ``channel.updated`` naming the changed fields (none: no event)."""
    channel = await get_channel(session, code)
    wanted = {k: v for k, v in changes.model_dump(exclude_unset=True, mode="json").items() if k in CHANNEL_COLUMNS}
    changed = _apply(channel, wanted)
    if changed:
        channel.updated_at = utcnow()
        await session.flush()
        await record_event(session, "channel.updated", code, {**channel_data(channel), "changed": changed})
    return channel


def _apply(row: Location | Channel, wanted: dict[str, Any]) -> list[str]:
    changed = sorted(name for name, value in wanted.items() if getattr(row, name) != value)
    for name in changed:
        setattr(row, name, wanted[name])
    return changed
