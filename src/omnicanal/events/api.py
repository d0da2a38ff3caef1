from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal
from omnicanal.access.scope import event_filter_for
from omnicanal.events import service
from omnicanal.events.schemas import CloudEvent, EventPage
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from omnicanal.kit.transaction import WritingRoute

router = APIRouter(prefix="/api/v1/events", tags=["events"], route_class=WritingRoute)


@router.get("", response_model=EventPage)
async def list_events(
    session: SessionDep,
    principal: Annotated[Principal, Allow(Permission.EVENTS_READ)],
    after: Annotated[int, Query(ge=0, lt=2**63, description="Last sequence already seen (0 from the start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    type: Annotated[list[str] | None, Query(description="Only these event types.")] = None,
    subject: Annotated[str | None, Query(description="Only events about this subject, e.g. an order id.")] = None,
) -> EventPage:
    """Every change in the hub as CloudEvents, in commit order. Poll with the last ``sequence`` you saw.
    A channel's integration key reads its own orders' events (and their pickups, parcels, returns, try-ons)
    and the shared ones — catalog, prices, network, stock — never another channel's orders or customers."""
    await service.assign_sequences(session)
    rows = await service.list_events(session, after=after, limit=limit, types=type, subject=subject,
                                     scope=event_filter_for(principal))
    items = [
        CloudEvent(id=r.event_id, source=service.SOURCE, type=r.type, subject=r.subject, time=r.time,
                   sequence=r.sequence or 0, data=r.data)
        for r in rows
    ]
    return EventPage(items=items, next=items[-1].sequence if items else after)
