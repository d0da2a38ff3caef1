"""Engine, session factory and the declarative base shared by every domain's models.

SQLite (the embedded default) and PostgreSQL (production) are both first-class. On SQLite a writing
transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the database lock
instead of failing half-way; reads run in autocommit, concurrently under WAL (as they do on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from omnicanal.config import Settings
from omnicanal.kit.prebuilt import read_apart, send_queued_writes_first

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL, JSON text elsewhere.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# A 64-bit autoincrementing key that SQLite still treats as its rowid.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite stores naive text, so re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


@dataclass(frozen=True)
class Database:
    """The engines and session factories of one hub: ``writer`` for changes, ``reader`` for reads."""

    engine: AsyncEngine
    reader: async_sessionmaker[AsyncSession]
    writer: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine
    # Read sessions a request left as they were built, for the next requests (kit.transaction).
    idle_readers: list[AsyncSession] = field(default_factory=list, compare=False, repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # SQLite has one writer at a time: writers queue for the single pooled connection inside the process,
    # in order, instead of spinning in SQLite's busy handler (which made tail latency seconds long).
    # Readers run in autocommit, as on PostgreSQL: each statement sees the last commit (WAL), and a read costs no
    # BEGIN and no ROLLBACK (two trips through aiosqlite's thread each).
    pool: dict[str, Any] = ({"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate
                            else {"pool_size": 16, "max_overflow": 0, "isolation_level": "AUTOCOMMIT",
                                  "pool_reset_on_return": None})
    engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, own the transaction boundaries.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten, not left in free pages
        cursor.close()

    if immediate:
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def connect(settings: Settings) -> Database:
    """Create the engines for ``settings.database_url``."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, immediate=True)
        read_engine = _sqlite_engine(url, immediate=False)
    else:
        engine = create_async_engine(url, pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=60)
        send_queued_writes_first(engine)
        # Reads need no transaction of their own: autocommit saves the BEGIN and ROLLBACK round trips. Their own
        # pool, born in autocommit, so that no read switches a connection's mode there and back — and, having no
        # transaction to end, none is rolled back when a connection goes back to the pool.
        read_engine = create_async_engine(url, pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=60,
                                          isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    read_apart(read_engine)
    return Database(
        engine=engine,
        read_engine=read_engine,
        writer=async_sessionmaker(engine, expire_on_commit=False),
        reader=async_sessionmaker(read_engine, expire_on_commit=False),
    )


def table_of(model: type[Base]) -> Table:
    """A model's table, typed as one (for prebuilt Core statements)."""
    return cast(Table, model.__table__)


def upsert_dialect(dialect_name: str) -> Any:
    """The dialect module whose ``insert`` supports ``on_conflict_do_*``."""
    return postgresql if dialect_name == "postgresql" else sqlite
