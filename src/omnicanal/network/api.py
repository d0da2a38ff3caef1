from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.network import service
from omnicanal.network.models import Channel, Location
from omnicanal.network.rules import CAPABILITIES
from omnicanal.network.schemas import (
    Address,
    Capabilities,
    Capability,
    ChannelIn,
    ChannelKind,
    ChannelOut,
    ChannelPatch,
    LocationIn,
    LocationKind,
    LocationOut,
    LocationPatch,
)

router = APIRouter(prefix="/api/v1", tags=["network"], route_class=TransactionalRoute)
READ, WRITE = Allow(Permission.NETWORK_READ), Allow(Permission.NETWORK_WRITE)


def location_out(row: Location) -> LocationOut:
    return LocationOut(
        code=row.code, name=row.name, kind=row.kind, address=Address.model_validate(row.address) if row.address
        else None, latitude=row.latitude, longitude=row.longitude, timezone=row.timezone,
        opening_hours=row.opening_hours or {}, active=row.active, created_at=row.created_at,
        updated_at=row.updated_at, capabilities=Capabilities(**{name: getattr(row, name) for name in CAPABILITIES}))


def channel_out(row: Channel) -> ChannelOut:
    return ChannelOut(code=row.code, name=row.name, kind=row.kind, online=row.online, safety_buffer=row.safety_buffer,
                      active=row.active, created_at=row.created_at, updated_at=row.updated_at)


@router.post("/locations", response_model=LocationOut, status_code=201, dependencies=[WRITE])
async def create_location(session: SessionDep, settings: SettingsDep, body: LocationIn,
                          response: Response) -> LocationOut:
    """Open a store or a warehouse."""
    location = await service.create_location(session, location=body, default_timezone=settings.timezone)
    response.headers["Location"] = f"/api/v1/locations/{location.code}"
    return location_out(location)


@router.get("/locations", response_model=Page[LocationOut], dependencies=[READ])
async def list_locations(
    session: SessionDep, paging: Paging, kind: LocationKind | None = None,
    capability: Annotated[list[Capability] | None, Query(description="Only locations with all of these.")] = None,
    active: bool | None = None,
) -> Page[LocationOut]:
    """Stores and warehouses by code, active or not unless ``active`` is given."""
    rows = await service.list_locations(session, capabilities=[c.value for c in capability or []], active=active,
                                        kind=kind, after_code=paging.after_one(str), limit=paging.limit + 1)
    return page_of([location_out(row) for row in rows], paging, lambda out: (out.code,))


@router.get("/locations/{code}", response_model=LocationOut, dependencies=[READ])
async def get_location(session: SessionDep, code: str) -> LocationOut:
    return location_out(await service.get_location(session, code))


@router.patch("/locations/{code}", response_model=LocationOut, dependencies=[WRITE])
async def update_location(session: SessionDep, code: str, body: LocationPatch) -> LocationOut:
    """Change a location's details, hours or capabilities; fields left out stay as they are."""
    return location_out(await service.update_location(session, code=code, changes=body))


@router.post("/channels", response_model=ChannelOut, status_code=201, dependencies=[WRITE])
async def create_channel(session: SessionDep, body: ChannelIn, response: Response) -> ChannelOut:
    """Register a sales channel (web shop, app, till fleet, kiosks, marketplace, social selling)."""
    channel = await service.create_channel(session, channel=body)
    response.headers["Location"] = f"/api/v1/channels/{channel.code}"
    return channel_out(channel)


@router.get("/channels", response_model=Page[ChannelOut], dependencies=[READ])
async def list_channels(session: SessionDep, paging: Paging, kind: ChannelKind | None = None,
                        online: bool | None = None, active: bool | None = None) -> Page[ChannelOut]:
    """Channels by code."""
    rows = await service.list_channels(session, kind=kind, online=online, active=active,
                                       after_code=paging.after_one(str), limit=paging.limit + 1)
    return page_of([channel_out(row) for row in rows], paging, lambda out: (out.code,))


@router.get("/channels/{code}", response_model=ChannelOut, dependencies=[READ])
async def get_channel(session: SessionDep, code: str) -> ChannelOut:
    return channel_out(await service.get_channel(session, code))


@router.patch("/channels/{code}", response_model=ChannelOut, dependencies=[WRITE])
async def update_channel(session: SessionDep, code: str, body: ChannelPatch) -> ChannelOut:
    """Change a channel; fields left out stay as they are."""
    return channel_out(await service.update_channel(session, code=code, changes=body))
