"""Engine, session factory and the declarative base shared by every domain's models.

SQLite (the embedded default) and PostgreSQL (production) are both first-class. On SQLite a writing
transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the database lock
instead of failing half-way; reads run in autocommit, concurrently under WAL (as they do on PostgreSQL).

aiosqlite runs every call of a connection in a thread of its own, and the trip there and back costs more than
a short SQLite statement itself (a read of availability: 0.6 ms of CPU against 0.2). So the hub's prebuilt
SELECTs — look-ups by index, run apart from any transaction (``kit.prebuilt.read_apart``) — take connections
that run each call at once in the calling thread (:class:`_SqliteHere`). Under WAL a read waits for no lock.
So do a write transaction's prebuilt statements once it holds the write lock: none of them can wait for a lock
then, and the trip's wait for the event loop would keep the lock held for everyone (``kit.prebuilt._on_sqlite``).
Everything else keeps aiosqlite's threads: a transaction waiting for another process's write lock, the ORM's
statements, a report that scans — none may stop the event loop meanwhile. An order takes no trip at all.

Several processes of the hub (``omnicanal serve --workers 2``) share one SQLite file: their writers take turns on a
lock file beside it (``kit.writer_turn``), which hands the write lock over at once instead of SQLite's polling. The
WAL is checkpointed by a thread of each process, not by the COMMIT that fills it (``kit.wal_checkpoints``).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import aiosqlite
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Table, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from omnicanal.config import Settings
from omnicanal.kit.prebuilt import (
    BUSY_TIMEOUT_MS,
    begin_immediate_later,
    begin_late,
    read_apart,
    send_queued_writes_first,
)
from omnicanal.kit.wal_checkpoints import BACKSTOP_PAGES, WalCheckpointer
from omnicanal.kit.writer_turn import WriterTurn, turn_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite writes one transaction at a time, and a transaction holding the write lock runs its statements in the event
# loop's thread (kit.prebuilt._on_sqlite): two write requests let in at once keep the writer busy — one reads and
# prices while the other writes. More would only lengthen every request's waits for the event loop, the writer's
# among them: a write request waits its turn first, in order (kit.transaction.WritesInTurn).
SQLITE_WRITES_AT_ONCE = 2

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

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, one step where SQLAlchemy takes two (this type's, then its DATETIME's, formatting through a
        dict): the same text at half the CPU — an order binds some ten timestamps."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not stored: use timezone-aware UTC")
            utc = value if value.tzinfo is UTC else value.astimezone(UTC)
            return utc.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process


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
    # On SQLite, the connections the prebuilt reads run on in the event loop's thread (module docstring).
    lookup_engine: AsyncEngine | None = None
    # On SQLite, the write requests let in at once (SQLITE_WRITES_AT_ONCE); the others wait their turn, in order.
    write_turns: asyncio.Semaphore | None = None
    # Read sessions a request left as they were built, for the next requests (kit.transaction).
    idle_readers: list[AsyncSession] = field(default_factory=list, compare=False, repr=False)
    # On a SQLite file, what checkpoints its WAL instead of the writers' COMMITs (kit.wal_checkpoints).
    checkpointer: WalCheckpointer | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def counts_on_answers(self) -> bool:
        """Whether a write transaction may count on what its writes will answer and send them all with its COMMIT
        (``kit.prebuilt.counting_on_answers``): on SQLite, whose writer takes its connection late."""
        return self.lookup_engine is not None

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()
        if self.lookup_engine is not None:
            await self.lookup_engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.close()


class _Sqlite(aiosqlite.Connection):
    """aiosqlite's connection (its calls run in a thread of its own), but for a commit or a rollback with no
    transaction to end — the pool's reset of every connection given back, SQLAlchemy's commit after
    ``kit.prebuilt.commit`` sent COMMIT with the last writes: no trip to the thread for nothing."""

    writer_turn: WriterTurn | None = None  # the writer's: taken before BEGIN IMMEDIATE (kit.prebuilt._on_sqlite)

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy makes aiosqlite's own: never keeps the interpreter from exiting

    async def commit(self) -> None:
        if self._connection is None or self._connection.in_transaction:
            await super().commit()
        self._give_turn_back()

    async def rollback(self) -> None:
        if self._connection is None or self._connection.in_transaction:
            await super().rollback()
        self._give_turn_back()

    def _give_turn_back(self) -> None:
        if self.writer_turn is not None and not (self._connection is not None and self._connection.in_transaction):
            self.writer_turn.give_back()


class _SqliteHere(_Sqlite):
    """An aiosqlite connection that runs each call at once, in the calling thread, instead of in a thread of its
    own (SQLAlchemy's aiosqlite dialect drives it unchanged)."""

    def __init__(self, connector: Any) -> None:
        super().__init__(connector)
        self._tx = _AtOnce()  # type: ignore[assignment]  # the dialect queues some calls itself

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> _SqliteHere:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _AtOnce:
    """In place of aiosqlite's queue to its thread: runs what is put at once and settles its future."""

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


def _sqlite(database: str, *, turn: WriterTurn | None = None, **kwargs: Any) -> _Sqlite:
    connection = _Sqlite(functools.partial(sqlite3.connect, database, **kwargs))
    connection.writer_turn = turn
    return connection


def _sqlite_here(database: str, **kwargs: Any) -> _SqliteHere:
    return _SqliteHere(functools.partial(sqlite3.connect, database, **kwargs))


def _sqlite_engine(url: str, *, immediate: bool, here: bool = False, turn: WriterTurn | None = None) -> AsyncEngine:
    # SQLite has one writer at a time: writers queue for the single pooled connection inside the process,
    # in order, instead of spinning in SQLite's busy handler (which made tail latency seconds long).
    # Readers run in autocommit, as on PostgreSQL: each statement sees the last commit (WAL), and a read costs no
    # BEGIN and no ROLLBACK (two trips through aiosqlite's thread each). ``here``: connections that run in the
    # calling thread (module docstring) — a read on one never yields, so two are plenty. ``turn``: the writers'
    # (kit.writer_turn), whose WAL a checkpointer of its own keeps short (kit.wal_checkpoints).
    pool: dict[str, Any] = ({"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate
                            else {"pool_size": 2 if here else 16, "max_overflow": 0, "isolation_level": "AUTOCOMMIT",
                                  "pool_reset_on_return": None})
    creator = _sqlite_here if here else functools.partial(_sqlite, turn=turn)
    connect_args: dict[str, Any] = {"timeout": 30, "async_creator_fn": creator}
    engine = create_async_engine(url, connect_args=connect_args, **pool)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, own the transaction boundaries.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten, not left in free pages
        if turn is not None and turn.given_back is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")  # the checkpointer's thread does it
        cursor.close()

    if immediate:
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            begin_immediate_later(connection)

    if turn is not None:
        @event.listens_for(engine.sync_engine.pool, "checkin")
        def _on_checkin(_dbapi_connection: Any, _record: Any) -> None:
            turn.give_back()  # the transaction is over: committed, or rolled back by the pool's reset

    return engine


def connect(settings: Settings) -> Database:
    """Create the engines for ``settings.database_url``."""
    url = settings.database_url
    lookup_engine = checkpointer = None
    if url.startswith("sqlite"):
        database = make_url(url).database or ""
        turn = None
        if (path := turn_file(database)) is not None:  # the writers of all the hub's processes take turns
            checkpointer = WalCheckpointer(database)
            turn = WriterTurn(path, given_back=checkpointer.transaction_ended)
        engine = _sqlite_engine(url, immediate=True, turn=turn)
        send_queued_writes_first(engine)
        read_engine = _sqlite_engine(url, immediate=False)
        lookup_engine = _sqlite_engine(url, immediate=False, here=True)
        begin_late(engine, lender=lookup_engine)
    else:
        engine = create_async_engine(url, pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=60)
        send_queued_writes_first(engine)
        # Reads need no transaction of their own: autocommit saves the BEGIN and ROLLBACK round trips. Their own
        # pool, born in autocommit, so that no read switches a connection's mode there and back — and, having no
        # transaction to end, none is rolled back when a connection goes back to the pool.
        read_engine = create_async_engine(url, pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=60,
                                          isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    read_apart(read_engine, lender=lookup_engine)
    return Database(
        engine=engine,
        read_engine=read_engine,
        lookup_engine=lookup_engine,
        write_turns=asyncio.Semaphore(SQLITE_WRITES_AT_ONCE) if lookup_engine is not None else None,
        checkpointer=checkpointer,
        writer=async_sessionmaker(engine, expire_on_commit=False),
        reader=async_sessionmaker(read_engine, expire_on_commit=False),
    )


def table_of(model: type[Base]) -> Table:
    """A model's table, typed as one (for prebuilt Core statements)."""
    return cast(Table, model.__table__)


def upsert_dialect(dialect_name: str) -> Any:
    """The dialect module whose ``insert`` supports ``on_conflict_do_*``."""
    return postgresql if dialect_name == "postgresql" else sqlite
