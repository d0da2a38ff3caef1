"""The routing tests' network: the shared one (a warehouse near Orléans, Paris that ships, Lyon that does not)
plus two shipping stores far apart, Marseille and Lille."""

from __future__ import annotations

from sqlalchemy import func, select

from omnicanal.db import Database
from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Location
from omnicanal.orders.models import Order, OrderLine
from omnicanal.routing.models import RoutingDecision, RoutingParcel, RoutingRejection
from tests.factories import make_network

PARIS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "latitude": 48.857, "longitude": 2.352}
MARSEILLE = {"line1": "1 La Canebière", "postal_code": "13001", "city": "Marseille", "latitude": 43.297,
             "longitude": 5.381}
NO_COORDINATES = {"line1": "3 place du Marché", "postal_code": "41000", "city": "Blois"}


async def make_routing_network(db: Database) -> None:
    await make_network(db)
    now = utcnow()
    async with db.writer() as session:
        session.add_all(Location(code=code, name=code, kind="store", latitude=lat, longitude=lon, sells=True,
                                 ships=True, pickup=True, returns=True, active=True, address={}, opening_hours={},
                                 timezone="Europe/Paris", created_at=now, updated_at=now)
                        for code, lat, lon in (("MRS-TDP", 43.3075, 5.3660), ("LIL-EUR", 50.6369, 3.0747)))
        await session.commit()


def ship(*lines: tuple[str, int], channel: str = "web", **extra: object) -> dict[str, object]:
    return {"channel": channel, "fulfillment": "ship",
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **extra}


async def snapshot(db: Database) -> dict[str, object]:
    """Everything a refused request must leave as it was."""
    async with db.reader() as session:
        levels = (await session.execute(select(StockLevel.sku, StockLevel.location_code, StockLevel.on_hand,
                                               StockLevel.reserved).order_by(StockLevel.sku,
                                                                             StockLevel.location_code))).all()
        lines = (await session.execute(select(OrderLine.order_id, OrderLine.line_no, OrderLine.location_code)
                                       .order_by(OrderLine.order_id, OrderLine.line_no))).all()
        statuses = (await session.execute(select(Order.id, Order.status).order_by(Order.id))).all()
        counts = [await session.scalar(select(func.count()).select_from(model)) for model in
                  (OutboxEvent, StockMovement, RoutingDecision, RoutingParcel, RoutingRejection)]
    return {"levels": [tuple(r) for r in levels], "lines": [tuple(r) for r in lines],
            "statuses": [tuple(r) for r in statuses], "counts": counts}
