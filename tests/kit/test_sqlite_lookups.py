"""On SQLite, prebuilt reads run in the event loop's thread (``db._SqliteHere``), and so do a write transaction's
prebuilt statements once it holds the write lock (``kit.prebuilt._on_sqlite``); every other statement keeps
aiosqlite's threads, and so does a transaction waiting for another process's lock. Reads see what was last
committed, and a failing statement costs nothing but its error."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from omnicanal.db import Database, connect
from omnicanal.kit.prebuilt import Prebuilt
from omnicanal.network.errors import ChannelNotFound
from omnicanal.network.service import channel_terms
from tests.conftest import PG_URL
from tests.factories import make_network

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own connections")
THREAD = Prebuilt(select(func.thread_of_statement().label("thread")))


@pytest.fixture
async def hub_db(settings, schema) -> AsyncIterator[Database]:
    """The hub's engines, each of whose connections can tell in which thread it runs a statement."""
    db = connect(settings)
    for engine in (db.engine, db.read_engine, db.lookup_engine):
        assert engine is not None
        event.listen(engine.sync_engine, "connect", lambda connection, _: connection.create_function(
            "thread_of_statement", 0, threading.get_ident))
    yield db
    await db.dispose()


async def test_prebuilt_statements_run_in_the_loops_thread_and_every_other_statement_in_aiosqlites(hub_db):
    loop_thread = threading.get_ident()
    async with hub_db.reader() as session:
        assert (await THREAD.rows(session, {}))[0].thread == loop_thread  # apart from any transaction
        assert (await session.execute(select(func.thread_of_statement()))).scalar() != loop_thread
    async with hub_db.writer() as session:
        assert (await THREAD.rows(session, {}))[0].thread == loop_thread  # the writer's transaction holds the lock
        assert (await session.execute(select(func.thread_of_statement()))).scalar() != loop_thread
        await session.rollback()


async def test_a_transaction_waiting_for_another_process_lock_waits_in_aiosqlites_thread(hub_db, settings):
    """While another process holds SQLite's write lock, a transaction's first statement waits for it in aiosqlite's
    thread: the event loop goes on serving reads meanwhile, and the statement runs once the lock is free."""
    other = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    async with hub_db.writer() as session:
        waiting = asyncio.ensure_future(THREAD.rows(session, {}))
        done, _ = await asyncio.wait({waiting}, timeout=0.2)  # it starts, and waits for the lock
        assert not done
        async with hub_db.reader() as reading:  # the loop is not stopped: reads come back while it waits
            assert (await THREAD.rows(reading, {}))[0].thread == threading.get_ident()
            assert (await reading.execute(select(func.thread_of_statement()))).scalar() != threading.get_ident()
        assert not waiting.done()
        other.rollback()
        assert (await waiting)[0].thread != threading.get_ident()
        await session.rollback()
    other.close()


async def test_a_prebuilt_read_sees_the_last_commit(hub_db, db):
    async with hub_db.reader() as session:
        with pytest.raises(ChannelNotFound):
            await channel_terms(session, "web")
    await make_network(db)  # committed by another engine's connection
    async with hub_db.reader() as session:
        assert (await channel_terms(session, "web")).code == "web"


async def test_a_failing_read_raises_its_error_and_the_connection_serves_on(hub_db):
    failing = Prebuilt(select(func.no_such_function()))
    async with hub_db.reader() as session:
        for _ in range(3):  # more than the pool's connections: none is lost
            with pytest.raises(OperationalError, match="no_such_function"):
                await failing.rows(session, {})
        assert (await THREAD.rows(session, {}))[0].thread == threading.get_ident()
