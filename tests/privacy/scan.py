"""Searching a whole database for a person: the raw bytes as stored (the SQLite file, a ``pg_dump`` of the
PostgreSQL database), and every value of every table as the hub reads it (sealed values opened)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from omnicanal.db import Database
from omnicanal.models import Base


def forms(value: str) -> list[bytes]:
    """The ways a text may sit in a dump: UTF-8, JSON-escaped ASCII, and hexadecimal (PostgreSQL bytea)."""
    utf8 = value.encode()
    return list(dict.fromkeys([utf8, json.dumps(value)[1:-1].encode(), utf8.hex().encode()]))


async def raw_bytes(db: Database, url: str) -> bytes:
    """Everything the database holds, byte for byte as stored."""
    return await asyncio.to_thread(_raw_bytes, db.dialect, url)


def _raw_bytes(dialect: str, url: str) -> bytes:
    if dialect == "sqlite":
        path = Path(make_url(url).database or "")
        with sqlite3.connect(path) as conn:  # move the write-ahead log into the file, then empty it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    target = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", f"--dbname={target}"], check=True, capture_output=True).stdout


def found_in_raw(raw: bytes, values: list[str]) -> list[str]:
    return [v for v in values if any(form in raw for form in forms(v))]


async def logical_text(db: Database, *, skip: tuple[str, ...] = ()) -> str:
    """Every value of every table (but ``skip``), as the hub reads it (sealed columns opened), as one text."""
    parts: list[str] = []
    async with db.reader() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in await session.execute(select(table)):
                parts.append(json.dumps({k: _text(v) for k, v in row._mapping.items()}, ensure_ascii=False,
                                        default=str))
    return "\n".join(parts)


def _text(value: Any) -> Any:
    return bytes(value).decode(errors="replace") if isinstance(value, bytes | memoryview) else value


def found_in(text: str, values: list[str]) -> list[str]:
    return [v for v in values if v in text]
