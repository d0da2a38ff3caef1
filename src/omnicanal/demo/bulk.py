"""Bulk inserts of plain dict rows: ``executemany`` on every database, ``COPY`` on PostgreSQL for big batches.

``COPY … FROM STDIN`` runs on the same connection, inside the caller's transaction; it is used only for
tables without JSON columns and only when each row names every required column (Python-side column
defaults are not applied by COPY).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncConnection

COPY_THRESHOLD = 2_000


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD and _copyable(table, rows[0]):
        await _copy(conn, table, rows)
    else:
        await conn.execute(table.insert(), list(rows))


def _copyable(table: Table, sample: dict[str, Any]) -> bool:
    if any(isinstance(column.type, JSON) for column in table.columns):
        return False
    required = {c.name for c in table.columns
                if not c.nullable and c.server_default is None and not (c.primary_key and c.autoincrement is True)}
    return required <= set(sample)


async def _copy(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row([row[name] for name in columns])
