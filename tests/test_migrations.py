"""The migrations build exactly the schema the models describe, and take it all away again.

Runs on SQLite always, and on PostgreSQL too when OMNICANAL_TEST_DATABASE_URL is set — in a fresh database
created (and dropped) for this test, never the shared test database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from omnicanal.migrations import VERSIONS, downgrade_to_base, head_revision, load_every_model, upgrade_to_head
from omnicanal.models import Base

from .conftest import PG_URL

load_every_model()  # the same tables the migrations' environment sees


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    import psycopg

    assert PG_URL is not None
    server = make_url(PG_URL)
    name = f"omnicanal_migrations_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


async def test_upgrade_head_builds_the_models_schema_and_downgrade_removes_it(fresh_url: str) -> None:
    result = upgrade_to_head(fresh_url)

    assert result.before is None and result.after == head_revision()
    assert await _inspect(fresh_url, _differences) == []
    assert await _inspect(fresh_url, _tables) == set(Base.metadata.tables)

    downgrade_to_base(fresh_url)
    assert await _inspect(fresh_url, _tables) == set()


async def test_migrating_twice_changes_nothing_the_second_time(fresh_url: str) -> None:
    first = upgrade_to_head(fresh_url)
    second = upgrade_to_head(fresh_url)

    assert first.changed and not second.changed
    assert second.after == head_revision()


def test_migration_files_are_named_by_date_and_slug() -> None:
    names = [path.name for path in VERSIONS.glob("*.py")]
    assert names
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}_[a-z0-9_]+\.py", name) for name in names), names
