"""Reading the registry's tables: which rows of each are about a person (by customer id, through a parent
table, or — for events — by mention in their payload), and turning rows into JSON."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, cast, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.models import Base
from omnicanal.privacy.registry import HOLDINGS, Holding

CHUNK = 500


def table_of(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


def about(table: Table, holding: Holding, ids: Sequence[str]) -> ColumnElement[bool]:
    """The rows of ``table`` naming one of ``ids`` in a customer column (and matching ``only``)."""
    condition = or_(false(), *(table.c[column].in_(ids) for column in holding.columns))
    if holding.only is not None:
        column, value = holding.only
        condition = condition & (table.c[column] == value)
    if holding.table == "outbox_event":
        condition = condition | mentions(table, ids)
    return condition


def mentions(table: Table, ids: Sequence[str]) -> ColumnElement[bool]:
    """Events whose payload names one of ``ids`` anywhere (a text search of the JSON)."""
    text = cast(table.c.data, Text)
    return or_(false(), *(text.contains(customer_id, autoescape=True) for customer_id in ids))


async def rows_about(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every exported table's rows about the person known by ``ids``, by table (children through parents)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for holding in HOLDINGS:
        table = table_of(holding.table)
        if table is None or not holding.exported:
            continue
        if holding.parent is not None:
            parent, key, column = holding.parent
            keys = [row[key] for row in found.get(parent, [])]
            rows = [row for start in range(0, len(keys), CHUNK) for row in await _select(
                session, table, table.c[column].in_(keys[start:start + CHUNK]))]
        else:
            rows = await _select(session, table, about(table, holding, ids))
        found[holding.table] = rows
    return found


async def _select(session: AsyncSession, table: Table, condition: ColumnElement[bool]) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    result = await session.execute(select(table).where(condition).order_by(*order))
    return [dict(row._mapping) for row in result]


def jsonable(value: Any) -> Any:
    """A database value as JSON: times and dates in ISO 8601, bytes in base64."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
