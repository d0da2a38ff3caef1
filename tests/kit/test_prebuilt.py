"""Prebuilt statements read and write exactly what SQLAlchemy would, in the session's transaction."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, insert, literal_column, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from omnicanal.customers.errors import CustomerNotFound
from omnicanal.db import connect, table_of
from omnicanal.events.models import OutboxEvent
from omnicanal.kit import prebuilt
from omnicanal.kit.idempotency import IdempotencyRecord
from omnicanal.kit.prebuilt import Prebuilt, commit, read_ahead
from tests.conftest import PG_URL
from tests.factories import make_network, make_product, put_stock

EVENT = table_of(OutboxEvent)
RECORD = table_of(IdempotencyRecord)
AT = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
INSERT_EVENTS = Prebuilt(insert(EVENT))
EVENTS_OF = Prebuilt(select(EVENT.c.event_id, EVENT.c.time, EVENT.c.data, EVENT.c.sequence)
                     .where(EVENT.c.subject.in_(bindparam("subjects", expanding=True))).order_by(EVENT.c.event_id))
COUNT = Prebuilt(select(func.count()).select_from(EVENT))
INSERT_RECORD = Prebuilt(insert(RECORD))


def event(n: int, subject: str = "s-1") -> dict[str, object]:
    return {"event_id": f"e-{n}", "type": "test.happened", "subject": subject, "time": AT,
            "data": {"n": n, "tags": ["a", "b"]}}


async def test_rows_come_back_typed_and_in_the_callers_transaction(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run_many(session, [event(1), event(2), event(3, "s-2")])  # one multi-row INSERT
        await INSERT_EVENTS.run(session, event(4, "s-3"))
        rows = await EVENTS_OF.rows(session, {"subjects": ["s-1", "s-2"]})
        assert [(r.event_id, r.time, r.data, r.sequence) for r in rows] == [
            ("e-1", AT, {"n": 1, "tags": ["a", "b"]}, None), ("e-2", AT, {"n": 2, "tags": ["a", "b"]}, None),
            ("e-3", AT, {"n": 3, "tags": ["a", "b"]}, None)]
        assert await EVENTS_OF.rows(session, {"subjects": []}) == []
        await session.rollback()  # the statements were part of the session's transaction
    async with db.reader() as session:
        (count,) = await COUNT.first(session, {})
        assert count == 0


async def test_more_rows_than_one_statement_takes_are_all_written(db):
    many = [event(n, f"s-{n % 3}") for n in range(prebuilt.MANY_ROWS + 7)]  # beyond one multi-row INSERT
    async with db.writer() as session:
        await INSERT_EVENTS.run_many(session, many)
        await session.commit()
    async with db.reader() as session:
        assert (await COUNT.first(session, {}))[0] == len(many)
        assert len(await EVENTS_OF.rows(session, {"subjects": ["s-0", "s-2"]})) == len(
            [e for e in many if e["subject"] != "s-1"])


async def test_a_parameter_used_twice_and_a_literal_percent_sign_read_as_written(db):
    subject = bindparam("subject")
    either = Prebuilt(select(EVENT.c.event_id, literal_column("'50%'").label("off"))
                      .where(or_(EVENT.c.subject == subject, EVENT.c.type == subject),
                             EVENT.c.event_id.like(bindparam("pattern"))).order_by(EVENT.c.event_id))
    async with db.writer() as session:
        await INSERT_EVENTS.run_many(session, [event(1), event(2, "s-2"), event(13, "test.happened")])
        assert [tuple(r) for r in await either.rows(session, {"subject": "s-2", "pattern": "e-%"})] == [
            ("e-2", "50%")]
        assert [r.event_id for r in await either.rows(session, {"subject": "test.happened", "pattern": "e-1%"})] == [
            "e-1", "e-13"]
        await session.rollback()


async def test_sealed_columns_are_sealed_at_rest_and_driver_errors_are_sqlalchemys(db):
    async with db.writer() as session:
        await INSERT_RECORD.run(session, {"scope": "k-1", "fingerprint": "f", "status_code": 201,
                                          "media_type": "application/json", "body": b'{"a":1}', "created_at": AT})
        stored = await session.scalar(select(func.length(RECORD.c.body)))
        assert stored is not None and stored > len(b'{"a":1}')  # AES-GCM adds its nonce and tag
        assert (await session.get(IdempotencyRecord, "k-1")).body == b'{"a":1}'
        with pytest.raises(IntegrityError):  # the same key twice: what the problem+json handler maps to 409
            await INSERT_RECORD.run(session, {"scope": "k-1", "fingerprint": "f", "status_code": None,
                                              "media_type": None, "body": None, "created_at": AT})
        await session.rollback()


async def test_writes_sent_later_are_seen_by_what_follows_and_committed_with_it(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run_later(session, event(1))
        await INSERT_EVENTS.run_many_later(session, [event(2), event(3, "s-2")])
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1", "s-2"]})] == [
            "e-1", "e-2", "e-3"]  # a prebuilt read sends them first
        await INSERT_EVENTS.run_later(session, event(4, "s-3"))
        assert await session.scalar(select(func.count()).select_from(EVENT)) == 4  # so does SQLAlchemy
        await INSERT_EVENTS.run_later(session, event(5, "s-3"))
        await commit(session)  # and the COMMIT
    async with db.writer() as session:
        await INSERT_EVENTS.run_later(session, event(6, "s-4"))
        await session.commit()  # a plain commit sends them too
    async with db.reader() as session:
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1", "s-2", "s-3", "s-4"]})] == [
            "e-1", "e-2", "e-3", "e-4", "e-5", "e-6"]


async def test_writes_sent_later_are_dropped_by_a_rollback(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run_many_later(session, [event(1), event(2)])
        await session.rollback()
        await INSERT_EVENTS.run_later(session, event(3))  # the next transaction, on the same connection
        await commit(session)
    async with db.reader() as session:
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1"]})] == ["e-3"]


async def test_a_write_sent_later_that_fails_fails_the_commit_and_nothing_is_kept(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run(session, event(1))
        await commit(session)
    async with db.writer() as session:
        with pytest.raises(IntegrityError):  # raised when sent: at once on SQLite, with the COMMIT on PostgreSQL
            await INSERT_EVENTS.run_later(session, event(2))
            await INSERT_EVENTS.run_later(session, event(1))  # the same event id again
            await commit(session)
        await session.rollback()
    async with db.reader() as session:
        (count,) = await COUNT.first(session, {})
        assert count == 1


async def test_a_round_trip_bigger_than_the_drivers_and_the_sockets_buffers_goes_whole(db):
    big = [{**event(n, f"s-{n % 2}"), "data": {"n": n, "text": "x" * 20_000}} for n in range(300)]  # some 6 MB
    async with db.writer() as session:
        for values in big:
            await INSERT_EVENTS.run_later(session, values)
        await read_ahead(session, [(COUNT, {})])  # the 300 writes and the read, in one round trip
        assert (await COUNT.first(session, {}))[0] == 300
        await INSERT_EVENTS.run_many_later(session, [{**event(n), "data": {"text": "y" * 20_000}}
                                                     for n in range(300, 600)])
        await commit(session)  # 300 more, with the COMMIT
    async with db.writer() as session:  # one failing in the middle of a big round trip: nothing is kept ...
        with pytest.raises(IntegrityError):
            for n in range(600, 900):
                await INSERT_EVENTS.run_later(session, {**event(n if n != 750 else 5), "data": {"text": "z" * 20_000}})
            await commit(session)
        await session.rollback()
    async with db.reader() as session:  # ... and the connections go on serving
        assert (await COUNT.first(session, {}))[0] == 600
        rows = await EVENTS_OF.rows(session, {"subjects": ["s-1"]})
        assert len(rows) == 150 + 300 and rows[0].data["text"] == "x" * 20_000


async def test_transactions_committing_queued_writes_hand_their_connections_over_cleanly(db):
    """Many more transactions than pooled connections: each connection passes straight from one commit to the
    next transaction, which must find it ready (and none of the previous transaction's writes pending)."""
    async def place(n: int) -> None:
        async with db.writer() as session:
            await INSERT_EVENTS.run(session, event(n, f"s-{n}"))
            await INSERT_EVENTS.run_many_later(session, [event(1000 + n, f"s-{n}"), event(2000 + n, f"s-{n}")])
            await commit(session)

    await asyncio.gather(*(place(n) for n in range(60)))
    async with db.reader() as session:
        (count,) = await COUNT.first(session, {})
        assert count == 180


async def test_writes_sent_later_are_numbered_in_the_order_they_were_queued(db):
    async with db.writer() as session:
        for n in (3, 1, 2):  # three INSERTs into one table: the outbox numbers events as they were written
            await INSERT_EVENTS.run_later(session, event(n))
        await INSERT_RECORD.run_later(session, {"scope": "k-1", "fingerprint": "f", "status_code": 201,
                                                "media_type": None, "body": None, "created_at": AT})
        await commit(session)
    async with db.reader() as session:
        written = (await session.scalars(select(EVENT.c.event_id).order_by(EVENT.c.id))).all()
        assert written == ["e-3", "e-1", "e-2"]
        assert (await session.get(IdempotencyRecord, "k-1")).status_code == 201


async def test_an_update_sent_later_with_inserts_finds_the_rows_earlier_statements_wrote(db):
    answer = Prebuilt(update(RECORD).where(RECORD.c.scope == bindparam("key"))
                      .values(status_code=bindparam("b_status")))
    async with db.writer() as session:
        await INSERT_RECORD.run(session, {"scope": "k-1", "fingerprint": "f", "status_code": None,
                                          "media_type": None, "body": None, "created_at": AT})
        await INSERT_EVENTS.run_later(session, event(1))
        await answer.run_later(session, {"key": "k-1", "b_status": 201})  # joined with the INSERT on PostgreSQL
        await answer.run_later(session, {"key": "k-1", "b_status": 202})  # a second write to the table: after it
        await commit(session)
    async with db.reader() as session:
        assert (await session.get(IdempotencyRecord, "k-1")).status_code == 202
        assert (await COUNT.first(session, {}))[0] == 1


async def test_without_pipelines_writes_are_sent_at_once(db, settings, monkeypatch):
    """psycopg built on a libpq older than 14 has no pipeline mode: a write asked for later is sent at once."""
    if db.dialect != "postgresql":
        pytest.skip("psycopg's pipeline mode (on SQLite writes are sent later in one trip to aiosqlite's thread)")
    monkeypatch.setattr(prebuilt, "_pipelines_supported", lambda: False)
    plain = connect(settings)
    try:
        async with plain.writer() as session:
            await INSERT_EVENTS.run_later(session, event(1))
            with pytest.raises(IntegrityError):  # raised where it is asked for, not at COMMIT
                await INSERT_EVENTS.run_later(session, event(1))
            await session.rollback()
            await INSERT_EVENTS.run_many_later(session, [event(2), event(3)])
            await commit(session)
    finally:
        await plain.dispose()
    async with db.reader() as session:
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1"]})] == ["e-2", "e-3"]


CLAIM = Prebuilt(insert(RECORD).returning(RECORD.c.scope))


def record(scope: str) -> dict[str, object]:
    return {"scope": scope, "fingerprint": "f", "created_at": AT}


async def test_a_statement_whose_rows_come_soon_travels_with_the_next_round_trip(db):
    async with db.writer() as session:
        claim = await CLAIM.rows_soon(session, record("k-1"))
        await INSERT_EVENTS.run_later(session, event(1))
        assert (await COUNT.first(session, {}))[0] == 1  # this read sent both
        assert [tuple(r) for r in claim.found or ()] == [("k-1",)]  # already back: no round trip of its own
        assert await claim.rows(session) == [("k-1",)]
        alone = await CLAIM.rows_soon(session, record("k-2"))
        assert [tuple(r) for r in await alone.rows(session)] == [("k-2",)]  # nothing else went: it goes now
        await commit(session)
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(RECORD)) == 2


async def test_rows_that_came_back_are_kept_when_a_later_statement_of_the_round_trip_fails(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run(session, event(1))
        claim = await CLAIM.rows_soon(session, record("k-1"))
        with pytest.raises(IntegrityError):
            await INSERT_EVENTS.run(session, event(1))  # the same event again, in the claim's round trip
        assert [tuple(r) for r in await claim.rows(session)] == [("k-1",)]
        await session.rollback()


async def test_reads_sent_ahead_never_answer_what_the_transaction_has_since_changed(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run(session, event(1))
        await read_ahead(session, [(EVENTS_OF, {"subjects": ["s-1"]}), (COUNT, {})])
        assert await session.scalar(select(func.count()).select_from(EVENT)) == 1  # a read keeps them
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1"]})] == ["e-1"]
        await INSERT_EVENTS.run_later(session, event(2))  # a write forgets them
        assert (await COUNT.first(session, {}))[0] == 2
        await read_ahead(session, [(COUNT, {})])
        await session.execute(insert(EVENT).values(**event(3)))  # so does one through SQLAlchemy
        assert (await COUNT.first(session, {}))[0] == 3
        await read_ahead(session, [(COUNT, {})])
        await INSERT_RECORD.run(session, {"scope": "k-1", "fingerprint": "f", "status_code": None,
                                          "media_type": None, "body": None, "created_at": AT})
        await INSERT_EVENTS.run(session, event(4))
        assert (await COUNT.first(session, {}))[0] == 4
        await session.rollback()


async def test_reads_sent_ahead_see_the_writes_queued_before_them(db):
    async with db.writer() as session:
        await INSERT_EVENTS.run_later(session, event(1))  # the transaction's first statement
        await read_ahead(session, [(COUNT, {}), (EVENTS_OF, {"subjects": ["s-1"]})])
        assert (await COUNT.first(session, {}))[0] == 1
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1"]})] == ["e-1"]
        await session.rollback()


async def test_reads_sent_ahead_answer_what_was_committed_when_they_were_sent_until_the_transaction_writes(db):
    async with db.writer() as session:
        await read_ahead(session, [(COUNT, {}), (EVENTS_OF, {"subjects": ["s-1"]})])
        async with db.writer() as other:  # commits meanwhile
            await INSERT_EVENTS.run(other, event(1))
            await commit(other)
        assert (await COUNT.first(session, {}))[0] == 0  # as read: once
        assert (await COUNT.first(session, {}))[0] == 1  # asked again: read again
        await INSERT_RECORD.run(session, {"scope": "k-1", "fingerprint": "f", "status_code": None,
                                          "media_type": None, "body": None, "created_at": AT})
        assert [r.event_id for r in await EVENTS_OF.rows(session, {"subjects": ["s-1"]})] == ["e-1"]  # a write
        await session.rollback()  # forgets what was read ahead


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")
async def test_on_sqlite_a_locking_read_sent_ahead_holds_the_write_lock_from_then_on(db, settings):
    from omnicanal.customers.service import customer_hold_read, hold_customer

    other = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None, timeout=0)
    async with db.writer() as session:
        await read_ahead(session, [(COUNT, {}), customer_hold_read("c-1")])
        other.execute("BEGIN IMMEDIATE")  # what is read early takes no lock
        other.rollback()
        assert (await COUNT.first(session, {}))[0] == 0
        with pytest.raises(CustomerNotFound):
            await hold_customer(session, "c-1")  # read in the transaction, which takes the write lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        await session.rollback()
    other.execute("BEGIN IMMEDIATE")
    other.rollback()
    other.close()


async def test_requests_leave_no_reference_cycles_for_the_garbage_collector(db, client):
    """What a request builds (its session, transaction, connection wrappers) is freed as soon as it ends: left in
    reference cycles, it would wait for the collector, whose pauses lengthen the latency tail."""
    await make_network(db)
    await make_product(db, "LAMP-1")
    await put_stock(db, "LAMP-1", "WH-ORL", 50)
    order = {"channel": "web", "fulfillment": "ship", "lines": [{"sku": "LAMP-1", "quantity": 1}]}

    async def read_and_order(n: int) -> None:
        assert (await client.get("/api/v1/availability/LAMP-1?channel=web")).status_code == 200
        assert (await client.post("/api/v1/orders", json=order, headers={"Idempotency-Key": f"k-{n}"})
                ).status_code == 201

    await read_and_order(0)  # the first requests fill caches (compiled statements …) built once
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(1, 4):
            await read_and_order(n)
        gc.collect()
        left = {type(o).__module__ + "." + type(o).__qualname__ for o in gc.garbage
                if type(o).__module__.startswith(("sqlalchemy", "omnicanal", "psycopg"))}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == set()


async def test_a_read_session_left_as_built_serves_the_next_read_and_one_that_held_objects_does_not(db, client):
    await make_network(db)
    await make_product(db, "LAMP-1")
    await put_stock(db, "LAMP-1", "WH-ORL", 5)
    for _ in range(2):  # availability reads take connections apart: their session is kept, emptied, and reused
        assert (await client.get("/api/v1/availability/LAMP-1?channel=web")).status_code == 200
        [kept] = db.idle_readers
        assert kept.info == {} and not kept.sync_session.in_transaction() and not kept.sync_session.identity_map
    assert (await client.get("/api/v1/products/LAMP-1")).status_code == 200  # loads a Product into its session
    assert db.idle_readers == []  # that session was closed, not kept
    assert (await client.get("/api/v1/availability/LAMP-1?channel=web")).json()["sku"] == "LAMP-1"
    assert len(db.idle_readers) == 1 and db.idle_readers[0] is not kept


async def test_a_read_takes_a_connection_for_its_statement_alone_and_never_waits_for_a_second(db, settings):
    """On the read engine a prebuilt SELECT takes a pooled connection for itself and gives it back at once; once
    the session holds one of its own (a read through the session), the SELECTs use that one. So, even with a pool
    of a single connection, two requests interleave and a request mixing both kinds of read never waits."""
    one = connect(settings.model_copy(update={"database_pool_size": 1}))
    try:
        async with one.reader() as first:
            assert (await COUNT.first(first, {}))[0] == 0
            async with one.reader() as second:  # meanwhile another request reads: the connection is free
                assert (await asyncio.wait_for(COUNT.first(second, {}), 10))[0] == 0
                assert await asyncio.wait_for(second.scalar(select(func.count()).select_from(RECORD)), 10) == 0
                assert (await asyncio.wait_for(COUNT.first(second, {}), 10))[0] == 0  # on the session's connection
            await INSERT_EVENTS.run(writer := db.writer(), event(1))
            await writer.commit()
            await writer.close()
            assert (await asyncio.wait_for(COUNT.first(first, {}), 10))[0] == 1  # each statement sees the last commit
    finally:
        await one.dispose()


async def test_a_connection_postgresql_dropped_is_replaced_and_reads_go_on(db):
    """PostgreSQL ends a pooled connection (a restart, an administrator): the read that meets it fails, the pool
    lets it go, and the next read works on a new connection — whatever the dropped one had cached."""
    if db.dialect != "postgresql":
        pytest.skip("no server to drop an embedded SQLite's connection")
    await INSERT_EVENTS.run(session := db.writer(), event(1))
    await session.commit()
    await session.close()
    async with db.reader() as session:
        assert (await COUNT.first(session, {}))[0] == 1  # the pooled connection now holds its cursor
        backend = await session.scalar(select(func.pg_backend_pid()))
    async with db.engine.connect() as admin:
        await admin.execute(select(func.pg_terminate_backend(backend)))
    with pytest.raises(DBAPIError):
        async with db.reader() as session:
            await COUNT.first(session, {})
    async with db.reader() as session:
        assert (await COUNT.first(session, {}))[0] == 1
        assert await session.scalar(select(func.pg_backend_pid())) != backend
