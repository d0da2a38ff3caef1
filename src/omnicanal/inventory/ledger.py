"""The ledger's write path: every stock change updates its level row and appends a movement and a
``stock.changed`` event, all in the caller's transaction.

Reserving is one conditional UPDATE (``… WHERE on_hand - reserved - safety - buffer >= qty``): of two
concurrent reservations of the last unit, the database lets exactly one through, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.db import table_of, upsert_dialect
from omnicanal.events.service import Event, record_events
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.inventory.rules import MovementKind, available_to_promise, is_discrepancy
from omnicanal.kit.clock import utcnow
from omnicanal.kit.prebuilt import Prebuilt, Soon, counting_on_answers


@dataclass(frozen=True)
class StockChange:
    """One applied movement and the level it left behind."""

    sku: str
    location: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    on_hand: int
    reserved: int
    safety: int
    reference: str | None = None
    reason: str | None = None

    @property
    def available(self) -> int:
        return available_to_promise(on_hand=self.on_hand, reserved=self.reserved, safety=self.safety)

    def event(self) -> Event:
        return Event("stock.changed", f"{self.sku}@{self.location}", {
            "sku": self.sku, "location": self.location, "kind": self.kind.value,
            "on_hand_delta": self.on_hand_delta, "reserved_delta": self.reserved_delta,
            "on_hand": self.on_hand, "reserved": self.reserved, "safety": self.safety,
            "available": self.available, "reference": self.reference,
        })


LEVEL = table_of(StockLevel).c


async def change_level(
    session: AsyncSession, *, sku: str, location: str, kind: MovementKind, on_hand_delta: int = 0,
    reserved_delta: int = 0, reference: str | None = None, reason: str | None = None,
    condition: ColumnElement[bool] | None = None,
) -> StockChange | None:
    """Apply deltas to an existing level row when ``condition`` holds; ``None`` when it does not (or no row)."""
    statement = (
        update(StockLevel)
        .where(StockLevel.sku == sku, StockLevel.location_code == location)
        .values(on_hand=LEVEL.on_hand + on_hand_delta, reserved=LEVEL.reserved + reserved_delta,
                updated_at=utcnow())
        .returning(LEVEL.on_hand, LEVEL.reserved, LEVEL.safety)
    )
    if condition is not None:
        statement = statement.where(condition)
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    return StockChange(sku, location, kind, on_hand_delta, reserved_delta, row.on_hand, row.reserved,
                       row.safety, reference, reason)


async def add_to_level(
    session: AsyncSession, *, sku: str, location: str, kind: MovementKind, on_hand_delta: int,
    reference: str | None = None, reason: str | None = None,
) -> StockChange:
    """Move on-hand units, creating the level row if this SKU was never stocked here."""
    dialect = upsert_dialect(session.get_bind().dialect.name)
    statement = dialect.insert(StockLevel).values(
        sku=sku, location_code=location, on_hand=on_hand_delta, reserved=0, safety=0, updated_at=utcnow())
    statement = statement.on_conflict_do_update(
        index_elements=["sku", "location_code"],
        set_={"on_hand": LEVEL.on_hand + on_hand_delta, "updated_at": statement.excluded.updated_at},
    ).returning(LEVEL.on_hand, LEVEL.reserved, LEVEL.safety)
    row = (await session.execute(statement)).one()
    return StockChange(sku, location, kind, on_hand_delta, 0, row.on_hand, row.reserved, row.safety,
                       reference, reason)


def reservable(quantity: int, buffer: int) -> ColumnElement[bool]:
    """The condition under which ``quantity`` more units may be reserved."""
    return LEVEL.on_hand - LEVEL.reserved - LEVEL.safety - buffer >= quantity


def _guarded_update(guard: ColumnElement[bool]) -> Update:
    """A prebuilt level UPDATE for the hot paths (building statements per call costs more than running them)."""
    return (
        update(table_of(StockLevel))
        .where(LEVEL.sku == bindparam("b_sku"), LEVEL.location_code == bindparam("b_location"), guard)
        .values(reserved=LEVEL.reserved + bindparam("quantity"), updated_at=bindparam("now"))
        .returning(LEVEL.on_hand, LEVEL.reserved, LEVEL.safety)
    )


_RESERVE = Prebuilt(_guarded_update(
    LEVEL.on_hand - LEVEL.reserved - LEVEL.safety - bindparam("buffer") >= bindparam("quantity")))
_RELEASE = Prebuilt(_guarded_update(LEVEL.reserved + bindparam("quantity") >= 0))


async def _move_reserved(
    session: AsyncSession, statement: Prebuilt, kind: MovementKind, *, sku: str, location: str, quantity: int,
    buffer: int = 0, reference: str | None, reason: str | None = None,
) -> StockChange | None:
    row = await statement.first(session, {
        "b_sku": sku, "b_location": location, "quantity": quantity, "buffer": buffer, "now": utcnow()})
    if row is None:
        return None
    return StockChange(sku, location, kind, 0, quantity, row.on_hand, row.reserved, row.safety, reference, reason)


async def reserve(
    session: AsyncSession, *, sku: str, location: str, quantity: int, buffer: int = 0,
    reference: str | None = None,
) -> StockChange | None:
    """Reserve ``quantity`` units atomically, or nothing (``None``) if they are not available."""
    return await _move_reserved(session, _RESERVE, MovementKind.RESERVATION, sku=sku, location=location,
                                quantity=quantity, buffer=buffer, reference=reference)


Level = tuple[int, int, int]  # on hand, reserved, safety


async def reserve_each(
    session: AsyncSession, wanted: Sequence[tuple[str, str, int]], *, buffer: int = 0, reference: str | None = None,
    levels: Mapping[tuple[str, str], Level] | None = None,
) -> list[StockChange | None]:
    """:func:`reserve` for each (sku, location, quantity), in the order given — the order their rows are locked
    in — all sent in one round trip where the driver allows it. Each answer is ``None`` where those units were
    not available; the others stay reserved (the caller gives them back if it wants all or nothing).

    ``levels``: each (sku, location)'s level as last read. Where the session may count on answers
    (:func:`~omnicanal.kit.prebuilt.counting_on_answers`), the reservations are then queued, counting on leaving
    each level as read plus ``quantity`` reserved, and answered so at once: any other outcome — units taken or
    received meanwhile — rolls the transaction back at COMMIT, for its caller to run it again."""
    now = utcnow()
    soon = [await _RESERVE.rows_soon(session, {"b_sku": sku, "b_location": location, "quantity": quantity,
                                                "buffer": buffer, "now": now})
            for sku, location, quantity in wanted]
    if levels is not None and counting_on_answers(session) and all((s, at) in levels for s, at, _ in wanted):
        return [_counting_on(answer, sku, location, quantity, levels[(sku, location)], reference)
                for (sku, location, quantity), answer in zip(wanted, soon, strict=True)]
    changes: list[StockChange | None] = []
    for (sku, location, quantity), answer in zip(wanted, soon, strict=True):
        rows = await answer.rows(session)  # the first sends them all; the others are back with it
        changes.append(StockChange(sku, location, MovementKind.RESERVATION, 0, quantity, rows[0].on_hand,
                                   rows[0].reserved, rows[0].safety, reference) if rows else None)
    return changes


def _counting_on(answer: Soon, sku: str, location: str, quantity: int, level: Level,
                 reference: str | None) -> StockChange:
    """The reservation as it will be if it leaves ``level`` with ``quantity`` more units reserved."""
    on_hand, reserved, safety = level
    answer.expected = [(on_hand, reserved + quantity, safety)]
    return StockChange(sku, location, MovementKind.RESERVATION, 0, quantity, on_hand, reserved + quantity, safety,
                       reference)


async def release(
    session: AsyncSession, *, sku: str, location: str, quantity: int, reference: str | None = None,
    reason: str | None = None,
) -> StockChange | None:
    """Give back ``quantity`` reserved units (``None`` if fewer are reserved)."""
    return await _move_reserved(session, _RELEASE, MovementKind.RELEASE, sku=sku, location=location,
                                quantity=-quantity, reference=reference, reason=reason)


_INSERT_MOVEMENTS = Prebuilt(insert(table_of(StockMovement)))


async def record_changes(session: AsyncSession, changes: Sequence[StockChange], also: Sequence[Event] = ()) -> None:
    """Append the movements and their events (one INSERT each), and ask for a count where taking units
    out left the system's figures impossible (goods sold at a till that the system thought absent).
    ``also``: the events of the change that caused these movements, written in the same INSERT."""
    if changes:
        now = utcnow()
        await _INSERT_MOVEMENTS.run_many_later(session, [
            {"sku": c.sku, "location_code": c.location, "kind": c.kind.value, "on_hand_delta": c.on_hand_delta,
             "reserved_delta": c.reserved_delta, "reference": c.reference, "reason": c.reason, "created_at": now}
            for c in changes
        ])
    events = [*also, *(c.event() for c in changes)]
    events += [
        Event("stock.discrepancy", f"{c.sku}@{c.location}", {
            "sku": c.sku, "location": c.location, "on_hand": c.on_hand, "reserved": c.reserved,
            "reference": c.reference, "action": "count the shelf: the system's figures are impossible"})
        for c in changes if c.on_hand_delta < 0 and is_discrepancy(on_hand=c.on_hand, reserved=c.reserved)
    ]
    await record_events(session, events)


async def lock_level(session: AsyncSession, *, sku: str, location: str) -> StockLevel | None:
    """Read a level row for update (row lock on PostgreSQL; SQLite writers are already serialised)."""
    return await session.scalar(
        select(StockLevel).where(StockLevel.sku == sku, StockLevel.location_code == location)
        .with_for_update())


async def lock_levels(session: AsyncSession, skus: Sequence[str]) -> None:
    """Lock every level row of ``skus``, everywhere, in the (sku, location) order all writers follow: a flow that
    releases units at one location and then reserves at others (a refused order re-routed) cannot deadlock."""
    if session.get_bind().dialect.name == "postgresql":  # SQLite writers are already serialised
        await session.execute(select(LEVEL.sku).where(LEVEL.sku.in_(sorted(set(skus))))
                              .order_by(LEVEL.sku, LEVEL.location_code).with_for_update())
