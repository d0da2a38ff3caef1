"""Shared fixtures: the whole suite runs on SQLite, and on PostgreSQL when OMNICANAL_TEST_DATABASE_URL is set.

Each test gets a hub whose tables were emptied before it, an HTTP client speaking to it in-process, and
an admin API key.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from omnicanal.access.rules import Role
from omnicanal.access.service import create_api_key
from omnicanal.app import create_app
from omnicanal.config import Settings
from omnicanal.db import Database
from omnicanal.models import Base

PG_URL = os.environ.get("OMNICANAL_TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"omnicanal database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'omnicanal-test.db'}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, admin_token="test-admin-token", api_key_cache_seconds=0,
                    currency="EUR")


@pytest.fixture(scope="session")
async def schema(settings: Settings) -> AsyncIterator[None]:
    from omnicanal.db import connect

    db = connect(settings)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()
    yield


async def empty_all_tables(db: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(table.delete())


@pytest.fixture
async def app(settings: Settings, schema: None) -> AsyncIterator[object]:
    application = create_app(settings, background_jobs=False)
    db: Database = application.state.db
    await empty_all_tables(db)
    yield application
    await db.dispose()


@pytest.fixture
def db(app: object) -> Database:
    return app.state.db  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", headers={"Authorization": "Bearer test-admin-token"}
    ) as c:
        yield c


@pytest.fixture
def anonymous(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same hub, without credentials."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://hub")


# The scope a key gets when a test does not name one: store roles work at PAR-RIV, integrations speak for web.
DEFAULT_SCOPE: dict[Role, dict[str, Any]] = {
    Role.STORE_MANAGER: {"locations": ["PAR-RIV"]}, Role.STORE_ASSOCIATE: {"locations": ["PAR-RIV"]},
    Role.INTEGRATION: {"channel": "web"},
}


@pytest.fixture
def key_for(db: Database):  # type: ignore[no-untyped-def]
    """``await key_for(Role.ANALYST)`` → headers carrying a fresh API key of that role. Store roles are scoped
    to ``locations`` (default PAR-RIV), integrations to ``channel`` (default web)."""

    async def make(role: Role, *, locations: list[str] | None = None, channel: str | None = None,
                   ) -> dict[str, str]:
        scope = dict(DEFAULT_SCOPE.get(role, {}))
        if locations is not None:
            scope["locations"] = locations
        if channel is not None:
            scope["channel"] = channel
        async with db.writer() as session:
            issued = await create_api_key(session, name=f"test {role}", role=role, **scope)
            await session.commit()
        return {"Authorization": f"Bearer {issued.token}"}

    return make


ROOT = Path(__file__).resolve().parents[1]
