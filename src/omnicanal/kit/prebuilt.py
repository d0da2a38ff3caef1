"""Prebuilt statements for the hot paths, run straight on the session's own driver connection.

An order placed runs about fifteen statements. Through SQLAlchemy's execution layer (greenlet hop, execution
context, cursor and result wrappers) each costs two to three times its round trip in CPU. A :class:`Prebuilt`
statement is compiled once per dialect (and per set of columns inserted) by SQLAlchemy, with SQLAlchemy's own
bind and result processors (sealed columns, JSON, UTC timestamps, SQLite booleans), and then sent by the driver
directly — on the same connection, so inside the request's one transaction.

On PostgreSQL the statements go in PostgreSQL's own ``$n`` placeholders through psycopg's raw cursors, so that
psycopg does not parse them on every execution (it caches short statements only).

Use it only for Core statements on hot paths; everything else goes through the session as usual. Driver errors
are raised as SQLAlchemy's (``IntegrityError`` …), so the problem+json handlers see what they always saw.

On SQLite a "round trip" is a trip to the thread where aiosqlite runs the connection's calls: it costs more CPU
than a short statement (aiosqlite's cursor takes three for one statement — execute, fetch, close — where this
module takes one), so reads sent ahead, writes sent later and rows soon work there too, each batch run in one trip
(:func:`_sqlite_batch`).

**Reads sent ahead**: :func:`read_ahead` sends several SELECTs a use case is about to make in one
round trip; each one's next :meth:`Prebuilt.rows` with the same parameters answers from what came back, unless
the transaction wrote something in between (any write forgets them).

**Writes sent later**: a write whose outcome nobody reads — the order, its lines, the ledger's
movements, the outbox events — can be queued with :meth:`Prebuilt.run_later` instead of waiting for its own
round trip. Queued writes are sent, in order, ahead of the transaction's next statement (prebuilt or not) in one
psycopg pipeline, or with its COMMIT (:func:`commit`): the database sees the same statements in the same order
as if each had been sent at once (consecutive writes joined into one statement, :func:`_joined`). The difference
a caller can see: a queued write that fails raises at that next statement or at COMMIT, not where it was queued —
so only writes that cannot fail short of a bug or a lost connection are queued. A rollback drops them. The first
statement of a transaction goes in a pipeline too, so that its BEGIN travels with it.

**One send a round trip**: a pipeline's statements — the transaction's BEGIN, a COMMIT — are written to libpq's
buffer and leave together with the pipeline's Sync, in one ``send()`` (:func:`_queued`, :func:`_synchronise`);
psycopg would send each apart, and BEGIN with a Sync of its own, waiting for its answer.

**Rows soon**: :meth:`Prebuilt.rows_soon` queues a statement like a write sent later but keeps what
it answers, for a caller that can wait for it — the idempotency claim, read once the endpoint is done.

An order placed on PostgreSQL thus takes 3 round trips (3 sends) instead of 17: BEGIN, the idempotency claim, the
channel, prices, promotions, category lineage, the network's stock and the capacity used today (read ahead); the
conditional reservations of all its lines; and the order, lines, routing decision, movements and events (one
INSERT), the idempotency record and COMMIT. A pipeline's rows are read once it is back, so each costs one wait.
On SQLite, where the one writing connection is the database's write lock, an order holds it only for its writes
(:func:`begin_late`): the claim waits in the session, the reads sent ahead run before the transaction, apart, and
the order counts on its reservations leaving the levels it read (:func:`counting_on_answers`) — so BEGIN IMMEDIATE,
the claim, the reservations, the writes, the idempotency record and COMMIT go in one batch, run in the event loop's
thread when the lock is free (:func:`_on_sqlite`), which checks each answer counted on as it comes and rolls the
whole back at the first that differs (:class:`Unexpected`: the request then runs once more, reading them). The lock
is held for the time SQLite takes to run the batch, and no Python of the request's runs meanwhile.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, Select, Table, Update, bindparam, event, insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.util import find_tables
from sqlalchemy.util import await_, greenlet_spawn

from omnicanal.kit.writer_turn import WriterTurn

Params = Mapping[str, Any]
Processor = Callable[[Any], Any]
DRIVERS = ("psycopg", "aiosqlite")  # the drivers this module knows how to call; others use SQLAlchemy
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"  # a SQLite transaction that writes: it takes the write lock at once
BUSY_TIMEOUT_MS = 30_000  # how long a SQLite connection waits for another's write lock
MANY_ROWS = 50  # an INSERT of up to this many rows is sent as one multi-row statement
_CONNECTION = "omnicanal.prebuilt.connection"
_LATER = "omnicanal.prebuilt.later"  # in a PostgreSQL connection's info: the writes queued, not yet sent
_CURSOR = "omnicanal.prebuilt.cursor"  # in a PostgreSQL connection's info: its raw cursor (:func:`_cursor`)
_AHEAD = "omnicanal.prebuilt.ahead"  # in a PostgreSQL connection's info: rows read ahead, by statement and params
Queued = list[tuple[str, Any, "Soon | None"]]  # (SQL, driver parameters, who reads its rows)
_SENDING: weakref.WeakSet[Any] = weakref.WeakSet()  # the engines whose connections send queued writes first
# The engines whose reads take a connection each (read_apart) → the engine whose pool lends it (weakly: its owner
# keeps it, and both go at once).
_APART: weakref.WeakKeyDictionary[Any, weakref.ref[Engine]] = weakref.WeakKeyDictionary()
# The engines whose sessions take their connection as late as they can (begin_late) → the engine whose pool lends
# the connections their early reads run on.
_LATE: weakref.WeakKeyDictionary[Any, weakref.ref[Engine]] = weakref.WeakKeyDictionary()
_EARLY = "omnicanal.prebuilt.early"  # in a session's info: rows read ahead before its transaction took a connection


@dataclass
class _Form:
    """A statement compiled for one dialect: its SQL, how to prepare parameters and read rows."""

    compiled: SQLCompiler
    sql: str
    expanding: tuple[str, ...]  # the IN-list parameters, rendered one placeholder per value
    binds: dict[str, Processor]
    positions: tuple[str, ...]  # the parameters' names in placeholder order
    row: Any  # a namedtuple class (None when the statement returns no rows)
    types: tuple[Any, ...]  # of the columns returned, adapted to the dialect
    results: tuple[Processor | None, ...] | None = None  # known once the driver has described the columns
    expanded: dict[tuple[int, ...], Any] = field(default_factory=dict)  # by the lengths of the IN lists

    def parameters(self, params: Params) -> tuple[str, Any]:
        """The SQL and the driver's parameters for one set of ``params``."""
        sql: str = self.sql
        binds: Mapping[str, Any] = self.binds
        positions: Sequence[str] = self.positions
        values = dict(self.compiled.construct_params(params))
        if self.expanding:  # SQLAlchemy renders an IN list one placeholder per value: once per list length
            lengths = tuple(len(values[name]) for name in self.expanding)
            expanded = self.expanded.get(lengths)
            if expanded is None:
                state = self.compiled.construct_expanded_state(params)
                expanded = self.expanded[lengths] = (state.parameter_expansion, *_placeholders(
                    self.compiled.dialect, state.statement, state.positiontup), state.processors)
            expansion, sql, positions, binds = expanded
            for name, names in expansion.items():
                values.update(zip(names, values.pop(name), strict=True))
        for key, process in binds.items():
            if key in values:
                values[key] = process(values[key])
        return sql, tuple(values[key] for key in positions)

    def rows(self, dialect: Dialect, raw: Sequence[Sequence[Any]], description: Sequence[Any] | None) -> list[Any]:
        if self.results is None:  # as SQLAlchemy does: a column's processor may depend on the driver's type code
            codes = [column[1] for column in description] if description else [None] * len(self.types)
            self.results = tuple(t.result_processor(dialect, code) for t, code in zip(self.types, codes, strict=True))
        make, results = self.row._make, self.results
        if not any(results):
            return [make(r) for r in raw]
        return [make(value if process is None else process(value) for process, value in zip(results, r, strict=True))
                for r in raw]


def _placeholders(dialect: Dialect, sql: str, positiontup: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """``sql`` with positional placeholders, and the parameters' names in their order. SQLite's ``?`` come so
    from SQLAlchemy. psycopg's ``%(name)s`` become PostgreSQL's own ``$n``, run by a raw cursor: psycopg would
    otherwise parse every statement anew, having no cache for the long ones (the queued writes joined)."""
    if dialect.driver != "psycopg":
        return sql, tuple(positiontup or ())
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        if match.group(1) is None:  # %% — a literal %
            return "%"
        return f"${names.setdefault(match.group(1), len(names) + 1)}"

    return _PYFORMAT.sub(number, sql), tuple(names)


_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


def _returned_columns(statement: Any) -> list[Any]:
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    return list(statement.exported_columns) if getattr(statement, "_returning", ()) else []


class Prebuilt:
    """A Core statement (SELECT, INSERT, UPDATE) run with :meth:`rows`, :meth:`run` or :meth:`run_many`."""

    def __init__(self, statement: Select[*tuple[Any, ...]] | Insert | Update) -> None:
        self.statement = statement
        self.reads = frozenset(t.name for t in find_tables(statement) if isinstance(t, Table))
        self.writes = frozenset() if isinstance(statement, Select) else frozenset({statement.table.name})  # type: ignore[union-attr]
        # A locking read (FOR SHARE/UPDATE) holds what it reads until the transaction ends: it runs in the transaction.
        self.locks = isinstance(statement, Select) and statement._for_update_arg is not None
        self._forms: dict[tuple[str, tuple[str, ...] | None], _Form] = {}
        self._multirow: dict[tuple[int, tuple[str, ...]], Prebuilt] = {}

    def _form(self, dialect: Dialect, keys: tuple[str, ...] | None) -> _Form:
        form = self._forms.get((dialect.name, keys))
        if form is None:
            form = self._forms[(dialect.name, keys)] = self._compile(dialect, keys)
        return form

    def _compile(self, dialect: Dialect, keys: tuple[str, ...] | None) -> _Form:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:  # Python-side defaults: give every column
            missing = sorted(c.key for c in [*compiled.insert_prefetch, *compiled.update_prefetch])
            raise ValueError(f"a prebuilt statement must be given every column with a default: {missing}")
        columns = _returned_columns(self.statement)
        # Rows read as SQLAlchemy's do: ``row.column`` (unnamed expressions such as count(*): by position only).
        row = namedtuple("Row", [str(c.key) for c in columns], rename=True) if columns else None
        sql, positions = _placeholders(dialect, compiled.string, compiled.positiontup)
        binds: dict[str, Processor] = dict(compiled._bind_processors)  # type: ignore[arg-type]  # no tuple binds
        expanding = tuple(compiled.escaped_bind_names.get(p.key, p.key) for p in compiled.post_compile_params)
        return _Form(compiled=compiled, sql=sql, expanding=expanding,
                     binds=binds, positions=positions, row=row,
                     types=tuple(c.type.dialect_impl(dialect) for c in columns))

    async def rows(self, session: AsyncSession, params: Params) -> list[Any]:
        """The rows the statement answers (named tuples: ``row.column`` or unpacked)."""
        if (early := session.info.get(_EARLY)) and (found := early.pop(_ahead_key(self, params), None)) is not None:
            return found
        sync = session.sync_session
        if (lender := _APART.get(sync.bind)) is not None and not sync.in_transaction() and isinstance(
                self.statement, Select) and (engine := lender()) is not None:
            return await self._rows_apart(engine, params)
        connection, driver = await _connection(session)
        form = self._form(connection.dialect, _keys(self.statement, params))
        if driver is None:
            return list((await connection.execute(self.statement, params)).all())
        info = connection.sync_connection.info  # type: ignore[union-attr]
        if isinstance(self.statement, Select):
            if (ahead := info.get(_AHEAD)) and (found := ahead.pop(_ahead_key(self, params), None)) is not None:
                return found
        else:
            info.pop(_AHEAD, None)  # a write (with RETURNING): rows read ahead may be out of date
        sql, values = form.parameters(params)
        return form.rows(connection.dialect, *await _fetch(connection, driver, sql, values,
                                                           describe=form.results is None))

    async def _rows_apart(self, engine: Engine, params: Params) -> list[Any]:
        """:meth:`rows` on a pooled connection taken for this statement alone (:func:`read_apart`)."""
        form = self._form(engine.dialect, None)
        sql, values = form.parameters(params)
        # One greenlet for the check-out, the statement and the check-in (each greenlet costs a read some 2 %).
        raw, description = await greenlet_spawn(_fetch_apart, engine, sql, values, form.results is None)
        return form.rows(engine.dialect, raw, description)

    async def first(self, session: AsyncSession, params: Params) -> Any | None:
        found = await self.rows(session, params)
        return found[0] if found else None

    async def run(self, session: AsyncSession, params: Params) -> int:
        """Execute for one set of parameters; answers the rows affected."""
        connection, driver = await _connection(session)
        if driver is None:
            return int((await connection.execute(self.statement, params)).rowcount)
        _forget_ahead(connection)
        sql, values = self._form(connection.dialect, _keys(self.statement, params)).parameters(params)
        return await _execute(connection, driver, sql, values)

    async def run_later(self, session: AsyncSession, params: Params) -> None:
        """Execute with the transaction's next round trip (module docstring): for a write that cannot fail short
        of a bug, whose rows affected nobody reads. Where writes cannot be queued, at once."""
        if (waiting := _waiting(session)) is not None:
            form = self._form(waiting.dialect, _keys(self.statement, params))
            waiting.add(session, self, form.parameters(params), None)
            return
        connection, driver = await _connection(session)
        queued = _queue(connection, driver)
        if queued is None:
            await self.run(session, params)
            return
        _forget_ahead(connection)
        queued.append((*self._form(connection.dialect, _keys(self.statement, params)).parameters(params), None))

    async def rows_soon(self, session: AsyncSession, params: Params) -> Soon:
        """Queue the statement like :meth:`run_later`, but keep what it answers: :meth:`Soon.rows` reads it once
        the transaction's next round trip — whichever statement makes it — is back. Where writes cannot be
        queued, the statement runs at once."""
        if (waiting := _waiting(session)) is not None:
            form = self._form(waiting.dialect, _keys(self.statement, params))
            soon = Soon(self, params, form)
            waiting.add(session, self, form.parameters(params), soon)
            return soon
        connection, driver = await _connection(session)
        form = self._form(connection.dialect, _keys(self.statement, params))
        soon = Soon(self, params, form)
        queued = _queue(connection, driver)
        if queued is None:
            soon.found = await self.rows(session, params)
        else:
            _forget_ahead(connection)
            queued.append((*form.parameters(params), soon))
        return soon

    async def run_many_later(self, session: AsyncSession, params: Sequence[Params]) -> None:
        """:meth:`run_later` for several sets of parameters (an INSERT of many rows: one statement)."""
        if len(params) > 1 and isinstance(self.statement, Insert) and len(params) <= MANY_ROWS:
            keys = tuple(params[0])
            await self._rows_at_once(len(params), keys).run_later(session, {
                f"r{n}_{key}": values[key] for n, values in enumerate(params) for key in keys})
        elif len(params) == 1:
            await self.run_later(session, params[0])
        else:
            await self.run_many(session, params)

    async def run_many(self, session: AsyncSession, params: Sequence[Params]) -> None:
        """Execute once per set of parameters (every set with the same keys), e.g. one INSERT of many rows."""
        if not params:
            return
        if len(params) == 1:
            await self.run(session, params[0])
            return
        if isinstance(self.statement, Insert) and len(params) <= MANY_ROWS:
            keys = tuple(params[0])
            await self._rows_at_once(len(params), keys).run(session, {
                f"r{n}_{key}": values[key] for n, values in enumerate(params) for key in keys})
            return
        connection, driver = await _connection(session)
        if driver is None:
            await connection.execute(self.statement, list(params))
            return
        form = self._form(connection.dialect, _keys(self.statement, params[0]))
        prepared = [form.parameters(p) for p in params]
        _forget_ahead(connection)
        await _send_queued(connection)
        await _execute_many(connection.dialect, driver, prepared[0][0], [values for _, values in prepared])

    def _rows_at_once(self, count: int, keys: tuple[str, ...]) -> Prebuilt:
        """This INSERT as one statement of ``count`` rows (one round trip, no pipeline to set up)."""
        found = self._multirow.get((count, keys))
        if found is None:
            table = self.statement.table  # type: ignore[union-attr]
            rows = [{key: bindparam(f"r{n}_{key}", type_=table.c[key].type) for key in keys} for n in range(count)]
            found = self._multirow[(count, keys)] = Prebuilt(insert(table).values(rows))
        return found


@dataclass(eq=False)
class Soon:
    """The rows of a statement queued by :meth:`Prebuilt.rows_soon`. ``expected``: the rows (as the driver answers
    them) its caller counted on instead of reading them (:func:`counting_on_answers`) — any other answer stops the
    transaction's batch and rolls it back (:class:`Unexpected`)."""

    prebuilt: Prebuilt
    params: Params
    form: _Form
    found: list[Any] | None = None
    expected: list[tuple[Any, ...]] | None = None

    async def rows(self, session: AsyncSession) -> list[Any]:
        """What the statement answered; if it is still queued, it goes now (with whatever is queued with it)."""
        if self.found is None:
            connection, _ = await _connection(session)
            await _send_queued(connection)
        if self.found is None:  # not back (its round trip failed, or a rollback dropped it unsent): run it now
            self.found = await self.prebuilt.rows(session, self.params)
        return self.found


def _fetch_apart(engine: Engine, sql: str, values: Sequence[Any], describe: bool) -> tuple[list[Any], Any]:
    """In a greenlet: take a pooled connection, run ``sql``, give the connection back; rows and description
    (psycopg builds the description anew each time it is asked for: only when ``describe``)."""
    return _fetch_all_apart(engine, [(sql, values, describe)])[0]


def _fetch_all_apart(engine: Engine, statements: Sequence[tuple[str, Any, bool]]) -> list[tuple[list[Any], Any]]:
    """:func:`_fetch_apart` for several statements, one after the other on one connection."""
    dialect = engine.dialect
    pooled = engine.raw_connection()
    failure: Exception | None = None
    sql, values = statements[0][:2]
    try:
        driver = pooled.driver_connection
        answers = []
        for sql, values, describe in statements:
            if dialect.driver == "psycopg":
                cursor = await_(_cursor_in(pooled.info, driver).execute(sql, values))
                answers.append((list(await_(cursor.fetchall())), cursor.description if describe else None))
            else:
                rows, description, _ = await_(_in_sqlite(driver, sql, values))
                answers.append((rows, description))
        return answers
    except Exception as exc:
        failure = exc
        if not isinstance(exc, dialect.loaded_dbapi.Error):
            raise
        gone = dialect.is_disconnect(exc, pooled.dbapi_connection, None)
        raise DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                  connection_invalidated=gone) from exc
    finally:
        _give_back(pooled, failure, dialect)


async def _in_sqlite(driver: Any, sql: str, values: Any, *, many: bool = False, queued: Queued | None = None,
                     dialect: Dialect | None = None) -> tuple[list[Any], Any, int]:
    """Run ``sql`` on an aiosqlite connection — after the writes ``queued`` on it — and read what it answers (rows,
    their description, the rows it changed) in one trip to the connection's thread, where aiosqlite's cursor
    takes one each to execute, to fetch and to close: a trip costs more CPU than a short SQLite statement."""
    if queued and dialect is not None:
        *_, last = await _sqlite_batch(dialect, driver, [*queued, (sql, values, None)])
        return last
    return await _on_sqlite(driver, functools.partial(_run_in_sqlite, sql=sql, values=values, many=many))


async def _on_sqlite(driver: Any, run: Callable[[Any], Any], *, begins: bool = False) -> Any:
    """``run(sqlite3_connection)`` where it belongs. Once a transaction holds SQLite's write lock, at once in this
    thread: a statement then waits for no lock, and the trip to aiosqlite's thread and back would keep the lock
    held while the event loop got round to the answer, behind every other request's work. ``begins`` (the batch
    starts with BEGIN IMMEDIATE): at once too if the lock is free — the writer's turn among the hub's processes
    first (:mod:`omnicanal.kit.writer_turn`), given back as soon as a batch ends the transaction; if another process
    holds either, in aiosqlite's thread, which waits for it (the turn, then ``busy_timeout``) without stopping the
    event loop. Otherwise in aiosqlite's thread, as any call of an aiosqlite connection."""
    here = driver._connection
    turn: WriterTurn | None = getattr(driver, "writer_turn", None)
    if here is not None and here.in_transaction:
        return _ending_turn(turn, run, here)
    if here is not None and begins and (turn is None or turn.try_take()):
        here.execute("PRAGMA busy_timeout=0")
        try:
            return _ending_turn(turn, run, here)
        except sqlite3.OperationalError as exc:
            if here.in_transaction or exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        finally:
            here.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if begins and turn is not None:
        return await driver._execute(_in_turn, turn, run, driver._conn)
    return await driver._execute(run, driver._conn)


def _in_turn(turn: WriterTurn, run: Callable[[Any], Any], connection: Any) -> Any:
    """In aiosqlite's thread: wait for this process's turn to write (:mod:`omnicanal.kit.writer_turn`), then run."""
    turn.take()
    return _ending_turn(turn, run, connection)


def _ending_turn(turn: WriterTurn | None, run: Callable[[Any], Any], connection: Any) -> Any:
    """``run(connection)``, then give the turn back if that ended the transaction (a COMMIT, a failed BEGIN)."""
    try:
        return run(connection)
    finally:
        if turn is not None and not connection.in_transaction:
            turn.give_back()


def _run_in_sqlite(connection: Any, *, sql: str, values: Any, many: bool = False) -> tuple[list[Any], Any, int]:
    cursor = connection.executemany(sql, values) if many else connection.execute(sql, values)
    try:
        return cursor.fetchall(), cursor.description, cursor.rowcount
    finally:
        cursor.close()


def begin_immediate_later(connection: Connection) -> None:
    """From a SQLite engine's ``begin`` listener: queue ``BEGIN IMMEDIATE`` to go first in the transaction's first
    batch, whatever sends it (a statement, COMMIT), rather than in a trip of its own: the write lock is taken then.
    A rollback before drops it unsent. ``connection``'s engine must send queued writes first
    (:func:`send_queued_writes_first`)."""
    assert connection.engine in _SENDING, "nothing would send it"
    connection.info[_LATER] = [(BEGIN_IMMEDIATE, (), None), *connection.info.get(_LATER, ())]


async def _sqlite_batch(dialect: Dialect, driver: Any, queued: Queued) -> list[tuple[list[Any], Any, int]]:
    """Run the statements ``queued`` in order in one call (:func:`_on_sqlite`), stopping at the first that fails
    (raised after the ones before it have handed their rows to whoever waits for them). A batch that begins the
    transaction and finds the write lock taken runs whole again in aiosqlite's thread: ``answers`` starts anew."""
    answers: list[tuple[list[Any], Any, int]] = []

    def run_all(connection: Any) -> None:
        answers.clear()
        for sql, values, soon in queued:
            answers.append(answer := _run_in_sqlite(connection, sql=sql, values=values))
            if soon is not None and soon.expected is not None and answer[0] != soon.expected:
                connection.execute("ROLLBACK")  # at once, in this thread: the write lock goes back with it
                raise Unexpected(f"{sql[:60]}… answered {answer[0]!r}, not {soon.expected!r}; nothing was written.")

    try:
        await _on_sqlite(driver, run_all, begins=queued[0][0] == BEGIN_IMMEDIATE)
    finally:
        for (_, _, soon), (rows, description, _) in zip(queued, answers, strict=False):
            if soon is not None:
                soon.found = soon.form.rows(dialect, rows, description if soon.form.results is None else None)
    return answers


def _give_back(pooled: PoolProxiedConnection, failure: Exception | None, dialect: Dialect) -> None:
    """Return a connection to its pool — replaced first if ``failure`` says it is gone (the server dropped it)."""
    if failure is not None and dialect.is_disconnect(failure, pooled.dbapi_connection, None):  # type: ignore[arg-type]
        pooled.invalidate(failure)
    pooled.close()


def read_apart(engine: AsyncEngine, *, lender: AsyncEngine | None = None) -> None:
    """Let prebuilt SELECTs on sessions of ``engine`` — an engine in autocommit, whose statements share no
    transaction anyway — each take a pooled connection for themselves, without the session's machinery (which
    costs a read more than its statement), as long as the session holds no connection of its own. Nothing is held
    between two statements, so a request that also reads through the session never waits for a second connection.
    The connection comes from ``lender``'s pool (by default ``engine``'s own): on SQLite, connections that run a
    statement in the calling thread (``db.py``) — prebuilt SELECTs are short look-ups by index."""
    if engine.dialect.driver in DRIVERS:
        _APART[engine.sync_engine] = weakref.ref((lender or engine).sync_engine)


async def _connection(session: AsyncSession) -> tuple[AsyncConnection, Any | None]:
    """The session's connection and the driver's under it, found once per transaction (asking the session costs
    a greenlet hop each time)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0]() is transaction and transaction.is_active:
        return cached[1], cached[2]
    connection = await session.connection()
    driver = _driver(connection)
    # The transaction by weak reference: it refers to the session, and a cycle would leave every request's session
    # to the garbage collector (whose pauses then lengthen the latency tail) instead of freeing it at once.
    session.info[_CONNECTION] = (weakref.ref(session.sync_session.get_transaction()), connection, driver)
    return connection, driver


def _keys(statement: Any, params: Params) -> tuple[str, ...] | None:
    """An INSERT is compiled for the columns it is given (SQLAlchemy leaves the others to the database)."""
    return tuple(params) if isinstance(statement, Insert) else None


def _driver(connection: AsyncConnection) -> Any | None:
    """The driver's connection under ``connection`` (``None``: let SQLAlchemy run the statement)."""
    if connection.dialect.driver not in DRIVERS or connection.invalidated:
        return None
    return connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]


def _wrap(dialect: Dialect, sql: str, values: Any, exc: Exception) -> Exception:
    error = dialect.loaded_dbapi.Error
    if isinstance(exc, error):
        return DBAPIError.instance(sql, values, exc, error, dialect=dialect)
    return exc


async def _fetch(connection: AsyncConnection, driver: Any, sql: str, values: Any, *,
                 describe: bool) -> tuple[list[Any], Any]:
    """The rows, and the driver's description of their columns when ``describe`` (psycopg builds it anew on each
    reading: only the first execution of a statement needs it)."""
    dialect = connection.dialect
    try:
        if dialect.driver == "psycopg":
            queued = _take_queued(connection)
            if queued or _begins(connection, driver):  # the queued writes (or BEGIN) and this statement: one trip
                async with _pipeline(dialect, driver, queued):
                    cursor = await _queued(_cursor(connection, driver), sql, values)
                rows = list(await cursor.fetchall())  # read once the pipeline is back: no round trip of its own
            else:
                cursor = await _cursor(connection, driver).execute(sql, values)
                rows = list(await cursor.fetchall())
            return rows, cursor.description if describe else None
        rows, description, _ = await _in_sqlite(driver, sql, values, queued=_take_queued(connection), dialect=dialect)
        return rows, description
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc


async def _execute(connection: AsyncConnection, driver: Any, sql: str, values: Any) -> int:
    dialect = connection.dialect
    try:
        if dialect.driver == "psycopg":
            queued = _take_queued(connection)
            if queued or _begins(connection, driver):
                async with _pipeline(dialect, driver, queued):
                    cursor = await _queued(_cursor(connection, driver), sql, values)
                return int(cursor.rowcount)  # known once the pipeline has synchronised
            return int((await _cursor(connection, driver).execute(sql, values)).rowcount)
        return (await _in_sqlite(driver, sql, values, queued=_take_queued(connection), dialect=dialect))[2]
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc


async def _execute_many(dialect: Dialect, driver: Any, sql: str, values: list[Any]) -> None:
    try:
        if dialect.driver == "psycopg":
            async with _raw(driver) as cursor:
                await cursor.executemany(sql, values)
        else:
            await _in_sqlite(driver, sql, values, many=True)
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc


# --- reads sent ahead ----------------------------------------------------------------------------------------
Read = tuple[Prebuilt, Params]  # a SELECT and its parameters


def _ahead_key(prebuilt: Prebuilt, params: Params) -> tuple[Any, ...]:
    return (prebuilt, *sorted((key, tuple(v) if isinstance(v, list) else v) for key, v in params.items()))


def _forget_ahead(connection: AsyncConnection) -> None:
    connection.sync_connection.info.pop(_AHEAD, None)  # type: ignore[union-attr]


async def read_ahead(session: AsyncSession, reads: Sequence[Read]) -> None:
    """Send ``reads`` together — with any writes queued — in one round trip (module docstring). Where writes
    are not queued (psycopg without pipelines), nothing: each read runs when it is asked for. Before the
    transaction has taken a connection on an engine that takes it late (:func:`begin_late`), the reads run at once,
    apart from it."""
    if (lender := _lender(session)) is not None:
        await _read_early(session, lender, reads)
        return
    connection, driver = await _connection(session)
    if driver is None or _queue(connection, driver) is None or not reads:
        return
    dialect = connection.dialect
    sent = [(prebuilt, params, prebuilt._form(dialect, None)) for prebuilt, params in reads]
    statements = [form.parameters(params) for _, params, form in sent]
    queued = _take_queued(connection)
    try:
        if dialect.driver == "psycopg":
            async with _pipeline(dialect, driver, queued):
                cursors = [await _queued(_raw(driver), sql, values) for sql, values in statements]
            # already back: no round trip of their own
            answers = [(list(await cursor.fetchall()), cursor.description) for cursor in cursors]
        else:
            answers = [(rows, description) for rows, description, _ in (await _sqlite_batch(
                dialect, driver, [*queued, *((sql, values, None) for sql, values in statements)]))[len(queued):]]
    except Exception as exc:
        raise _wrap(dialect, statements[0][0], statements[0][1], exc) from exc
    ahead = connection.sync_connection.info.setdefault(_AHEAD, {})  # type: ignore[union-attr]
    for (prebuilt, params, form), (raw, description) in zip(sent, answers, strict=True):
        ahead[_ahead_key(prebuilt, params)] = form.rows(dialect, raw, description if form.results is None else None)


# --- writes sent later ----------------------------------------------------------------------------------------
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE


def _begins(connection: AsyncConnection, driver: Any) -> bool:
    """Whether psycopg is about to send BEGIN before the next statement (outside a pipeline: a round trip) on an
    engine that uses pipelines."""
    return (not driver.autocommit and driver.pgconn.transaction_status == _IDLE
            and connection.sync_engine in _SENDING)


def _queue(connection: AsyncConnection, driver: Any | None) -> Queued | None:
    """The connection's queue of writes sent later, or ``None`` where writes are sent at once: engines without
    :func:`send_queued_writes_first` (nothing would send them)."""
    if driver is None or connection.sync_engine not in _SENDING:
        return None
    info = connection.sync_connection.info  # type: ignore[union-attr]
    queued: Queued | None = info.get(_LATER)
    if queued is None:
        queued = info[_LATER] = []
    return queued


def _take_queued(connection: AsyncConnection | Connection) -> Queued:
    """The writes queued on ``connection``, now the caller's to send."""
    info = connection.sync_connection.info if isinstance(connection, AsyncConnection) else connection.info  # type: ignore[union-attr]
    queued: Queued | None = info.get(_LATER)
    if not queued:
        return []
    info[_LATER] = []
    return queued


def _raw(driver: Any) -> Any:
    """A psycopg cursor for SQL in ``$n`` placeholders (:func:`_placeholders`)."""
    from psycopg import AsyncRawCursor

    return AsyncRawCursor(driver)


def _cursor(connection: AsyncConnection, driver: Any) -> Any:
    """The connection's own raw cursor, made once and used again by statements whose rows are read at once (a
    cursor costs psycopg a copy of its adapters)."""
    return _cursor_in(connection.sync_connection.info, driver)  # type: ignore[union-attr]


def _cursor_in(info: dict[Any, Any], driver: Any) -> Any:
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = info[_CURSOR] = _raw(driver)
    return cursor


async def _queued(cursor: Any, sql: str, values: Any) -> Any:
    """``cursor.execute(sql, values)`` inside a :func:`_pipeline`, but only written to libpq's output buffer (which
    holds up to 64 kB in pipeline mode): the pipeline's statements then leave together, with its Sync, in one
    ``send()``. psycopg's own execute sends each statement at once (a wake-up of the server's process for each), and
    a transaction's BEGIN with a Sync of its own, waiting for its answer: a round trip of its own. These are the
    steps of psycopg's ``Cursor._execute_gen`` without its sending, the BEGIN queued like any statement."""
    from psycopg.adapt import Transformer

    connection = cursor.connection
    pipeline = connection._pipeline

    def queue() -> Any:  # our cursors are never closed: psycopg's check is left out
        if (not connection.autocommit and connection.pgconn.transaction_status == _IDLE
                and pipeline not in _BEGUN):
            yield from connection._exec_command(connection._get_tx_start_command())
            _BEGUN.add(pipeline)
        cursor._reset()
        if cursor._last_query is not sql:
            cursor._last_query = None
            cursor._tx = Transformer(cursor)
        yield from cursor._maybe_prepare_gen(cursor._convert_query(sql, values))
        cursor._last_query = sql
        yield from connection._prepared.maintain_gen(connection)

    async with connection.lock:
        await connection.wait(queue())
        _hand_to_libpq(pipeline)
    return cursor


_BEGUN: weakref.WeakSet[Any] = weakref.WeakSet()  # pipelines that have queued their transaction's BEGIN


def _hand_to_libpq(pipeline: Any) -> None:
    """Turn psycopg's queued commands into protocol messages in libpq's output buffer (nothing sent yet, unless the
    buffer is full)."""
    commands = pipeline.command_queue
    while commands:
        commands.popleft()()


async def _synchronise(driver: Any, pipeline: Any) -> None:
    """End ``pipeline`` with a Sync that leaves in the same ``send()`` as its statements, then read every answer:
    one send, one wait. (psycopg's own exit sends what is buffered, then the Sync apart, then a Flush request.)"""
    from psycopg.generators import send

    async with driver.lock:
        pipeline._enqueue_sync()
        _hand_to_libpq(pipeline)  # PQpipelineSync flushes the buffer
        await driver.wait(send(driver.pgconn))  # whatever did not fit in the socket at once
        await driver.wait(pipeline._fetch_gen(flush=False))
    pipeline._enqueue_sync = _nothing_to_synchronise  # psycopg's exit finds everything answered already


def _nothing_to_synchronise() -> None:
    pass


@contextlib.asynccontextmanager
async def _pipeline(dialect: Dialect, driver: Any, queued: Queued) -> AsyncIterator[None]:
    """A psycopg pipeline that first sends ``queued``, then what the caller adds (:func:`_queued`), all in one
    ``send()``; once it is back, the queued statements' rows are handed to whoever waits for them (:class:`Soon`) —
    even when a later statement of the pipeline failed."""
    answering: list[tuple[Soon, Any]] = []
    try:
        async with driver.pipeline() as pipeline:
            cursor = _raw(driver)  # one for all writes: nobody reads what they answer
            for sql, values, soon in _joined(queued):
                if soon is None:
                    await _queued(cursor, sql, values)
                else:
                    answering.append((soon, await _queued(_raw(driver), sql, values)))
            yield
            await _synchronise(driver, pipeline)
    finally:
        for soon, own in answering:
            if own.pgresult is not None and own.pgresult.status == _TUPLES_OK:
                form = soon.form
                soon.found = form.rows(dialect, list(await own.fetchall()),
                                       own.description if form.results is None else None)


async def _queue_commit(driver: Any) -> None:
    """COMMIT queued in the pipeline, to leave with its statements (psycopg's commit() sends it with a Sync of its
    own and waits)."""
    async with driver.lock:
        await driver.wait(driver._exec_command(b"COMMIT"))
        _hand_to_libpq(driver._pipeline)


_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK


def _joined(queued: Queued) -> Queued:
    """The queue with each run of consecutive INSERTs and UPDATEs into different tables made one statement — ``WITH
    w0 AS (INSERT …), w1 AS (INSERT …) UPDATE …`` — which PostgreSQL runs as one: each statement costs the driver
    and the server more than its rows do. The parts of such a statement run in no defined order, all on the
    snapshot taken before it: harmless for writes to different tables (foreign keys between them are checked at
    the end of the statement; an UPDATE finds the rows earlier statements wrote), not for two into one table,
    whose rows must be numbered in the order they were queued (the outbox's events) or be seen by the second — a
    second write to a table starts a new statement."""
    joined: Queued = []
    run: Queued = []
    tables: set[str] = set()
    for sql, values, soon in [*queued, ("", None, None)]:  # a sentinel ends the last run
        table = _WRITE_TO.match(sql) if soon is None else None  # a statement whose rows are read stays alone
        if table is not None and table.group(1) not in tables:
            run.append((sql, values, None))
            tables.add(table.group(1))
            continue
        if len(run) > 1:
            offsets = itertools.accumulate((len(values) for _, values, _ in run[:-1]), initial=0)
            parts = [_shifted(part, offset) for (part, _, _), offset in zip(run, offsets, strict=True)]
            text = "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts[:-1])) + " " + parts[-1]
            joined.append((text, tuple(itertools.chain.from_iterable(values for _, values, _ in run)), None))
        else:
            joined += run
        run, tables = [], set()
        if table is not None:  # an INSERT into a table the run had: it starts the next run
            run.append((sql, values, None))
            tables.add(table.group(1))
        elif sql:
            joined.append((sql, values, soon))
    return joined


_WRITE_TO = re.compile(r'(?:INSERT INTO|UPDATE) ("[^"]+"|\S+) ')


@functools.lru_cache(maxsize=256)
def _shifted(sql: str, offset: int) -> str:
    """``sql`` with its placeholders ``$n`` numbered from ``offset`` + 1."""
    return _NUMBERED.sub(lambda m: f"${int(m.group(1)) + offset}", sql) if offset else sql


_NUMBERED = re.compile(r"\$(\d+)")


async def _send_queued(connection: AsyncConnection | Connection) -> None:
    """Send the writes queued on ``connection`` in one pipeline, raising the first failure as SQLAlchemy's."""
    queued = _take_queued(connection)
    if not queued:
        return
    sync = connection.sync_connection if isinstance(connection, AsyncConnection) else connection
    driver: Any = sync.connection.driver_connection  # type: ignore[union-attr]
    try:
        if connection.dialect.driver != "psycopg":
            await _sqlite_batch(connection.dialect, driver, queued)
            return
        async with _pipeline(connection.dialect, driver, queued):
            pass
    except Exception as exc:
        raise _wrap(connection.dialect, queued[0][0], queued[0][1], exc) from exc


async def commit(session: AsyncSession) -> None:
    """Commit the session's transaction; writes still queued travel in the same round trip as the COMMIT."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    if transaction is not None and (waiting := _WAITING.get(transaction)) is not None and waiting.queued:
        await _connection(session)  # writes waiting in the session (begin_late): they go now
    cached = session.info.get(_CONNECTION)
    # Objects the ORM has yet to flush would have to go first, outside any pipeline: then a plain commit.
    if (cached is not None and cached[0]() is transaction and cached[2] is not None
            and not (sync.new or sync.dirty or sync.deleted)):
        connection, driver = cached[1], cached[2]
        if queued := _take_queued(connection):
            try:
                if connection.dialect.driver != "psycopg":  # on SQLite: one trip to aiosqlite's thread
                    await _sqlite_batch(connection.dialect, driver, [*queued, ("COMMIT", (), None)])
                else:
                    async with _pipeline(connection.dialect, driver, queued):  # writes and COMMIT: one Sync
                        await _queue_commit(driver)
            except Exception as exc:
                raise _wrap(connection.dialect, queued[0][0], queued[0][1], exc) from exc
    # SQLAlchemy's own commit (after the one above it finds nothing left to send; on SQLite, no transaction to end
    # either: db._Sqlite) — out of the pipeline: it hands the connection back to the pool, to the next request.
    await session.commit()


def _pipelines_supported() -> bool:
    """psycopg's pipeline mode needs libpq 14 or later (the binary wheel bundles one)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def send_queued_writes_first(engine: AsyncEngine) -> None:
    """Let :meth:`Prebuilt.run_later` queue writes on ``engine``'s connections (psycopg with pipelines, aiosqlite;
    elsewhere writes are sent at once): whatever else runs next on the connection — a statement through
    SQLAlchemy, a COMMIT — sends them first; a rollback drops them."""
    if engine.dialect.driver not in DRIVERS or (engine.dialect.driver == "psycopg" and not _pipelines_supported()):
        return  # writes are sent at once
    sync_engine = engine.sync_engine
    _SENDING.add(sync_engine)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before_statement(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":  # it may write: what was read ahead may be out of date
            connection.info.pop(_AHEAD, None)
        if connection.info.get(_LATER):
            await_(_send_queued(connection))

    @event.listens_for(sync_engine, "commit")
    def _before_commit(connection: Connection) -> None:
        connection.info.pop(_AHEAD, None)
        if connection.info.get(_LATER):
            await_(_send_queued(connection))

    @event.listens_for(sync_engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        connection.info.pop(_LATER, None)
        connection.info.pop(_AHEAD, None)

    @event.listens_for(sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # a connection back in the pool carries nothing into the next transaction
            record.info.pop(_LATER, None)
            record.info.pop(_AHEAD, None)


# --- the connection taken late --------------------------------------------------------------------------------
@dataclass(eq=False)
class _Waiting:
    """The writes queued in a session whose transaction holds no connection yet, and the tables they write."""

    dialect: Dialect
    queued: Queued = field(default_factory=list)
    tables: set[str] = field(default_factory=set)

    def add(self, session: AsyncSession, prebuilt: Prebuilt, statement: tuple[str, Any], soon: Soon | None) -> None:
        self.queued.append((*statement, soon))
        if prebuilt.writes - self.tables:
            self.tables |= prebuilt.writes
            if early := session.info.get(_EARLY):  # read before this write: it may have changed them
                for key in [key for key in early if key[0].reads & prebuilt.writes]:
                    del early[key]


_WAITING: weakref.WeakKeyDictionary[SessionTransaction, _Waiting] = weakref.WeakKeyDictionary()
COUNTING_ON_ANSWERS = "omnicanal.prebuilt.counting_on_answers"  # in a session's info: it may (counting_on_answers)


class Unexpected(Exception):
    """A statement whose answer was counted on answered otherwise (:attr:`Soon.expected`): the transaction was
    rolled back as it ran, nothing of it written. Its caller runs the use case again, reading the answers."""


def counting_on_answers(session: AsyncSession) -> bool:
    """Whether a use case may count on what a write will answer — set :attr:`Soon.expected` on it and go on as if
    it had — rather than send it now and wait: in a session allowed to (``info[COUNTING_ON_ANSWERS]``, whose
    caller runs the use case again on :class:`Unexpected`), whose transaction holds no connection yet
    (:func:`begin_late`). All its writes then go in one batch with the COMMIT, which checks each answer counted on
    as it comes: a SQLite transaction holds the write lock only for the time the database takes to run it."""
    return bool(session.info.get(COUNTING_ON_ANSWERS)) and _waiting(session) is not None


def begin_late(engine: AsyncEngine, *, lender: AsyncEngine) -> None:
    """Let sessions of ``engine`` (SQLite's writer, whose one connection is its write lock) take their connection
    as late as they can, so that a transaction holds the lock only for its writes:

    - writes queued (:meth:`Prebuilt.run_later`, :meth:`Prebuilt.rows_soon`) before the session holds a
      connection wait in the session, and go first with the transaction's first trip once it takes one;
    - reads sent ahead (:func:`read_ahead`) before then run at once, apart, on a connection of ``lender``, and
      answer the session's :meth:`Prebuilt.rows` until its transaction takes a connection. They see the last
      commit, as a statement does under PostgreSQL's READ COMMITTED, where the same use cases run — whose
      conditional writes (a reservation) check again what they rely on. Two kinds of read wait for the transaction
      instead: a locking read (``FOR SHARE``: it must hold what it read until the transaction ends) and a read of a
      table the session has a write waiting for (it must see it).

    ``engine`` must send queued writes first (:func:`send_queued_writes_first`)."""
    _LATE[engine.sync_engine] = weakref.ref(lender.sync_engine)


def _waiting(session: AsyncSession) -> _Waiting | None:
    """Where a write queued now waits, when it waits in the session (:func:`begin_late`): the session's transaction
    — begun here if it has not — holds no connection yet."""
    sync = session.sync_session
    if sync.bind is None or sync.bind not in _LATE:
        return None
    transaction = sync.get_transaction()
    if transaction is None:
        waiting = _WAITING[sync.begin()] = _Waiting(sync.bind.dialect)
        return waiting
    return _WAITING.get(transaction)


def _lender(session: AsyncSession) -> Engine | None:
    """The engine whose connection the session's reads sent ahead now take (:func:`begin_late`), if they do."""
    sync = session.sync_session
    lender = _LATE.get(sync.bind) if sync.bind is not None else None
    if lender is None:
        return None
    transaction = sync.get_transaction()
    return lender() if transaction is None or transaction in _WAITING else None


async def read_before_transaction(session: AsyncSession, reads: Sequence[Read]) -> None:
    """Where the session's transaction takes its connection late and has not yet (:func:`begin_late`): run those of
    ``reads`` not already read at once, apart, as :func:`read_ahead` does then — rather than let the first of them
    begin the transaction. Elsewhere nothing: each runs when it is asked for."""
    if (lender := _lender(session)) is not None:
        early = session.info.get(_EARLY) or {}
        if missing := [(prebuilt, params) for prebuilt, params in reads if _ahead_key(prebuilt, params) not in early]:
            await _read_early(session, lender, missing)


async def _read_early(session: AsyncSession, lender: Engine, reads: Sequence[Read]) -> None:
    transaction = session.sync_session.get_transaction()
    written = _WAITING[transaction].tables if transaction is not None else set()
    dialect = lender.dialect
    early = [(prebuilt, params, prebuilt._form(dialect, None)) for prebuilt, params in reads
             if not prebuilt.locks and not prebuilt.reads & written]
    if not early:
        return
    answers = await greenlet_spawn(_fetch_all_apart, lender, [
        (*form.parameters(params), form.results is None) for _, params, form in early])
    found = session.info.setdefault(_EARLY, {})
    for (prebuilt, params, form), (raw, description) in zip(early, answers, strict=True):
        found[_ahead_key(prebuilt, params)] = form.rows(dialect, raw, description)


@event.listens_for(Session, "before_commit")
def _connect_to_commit(session: Session) -> None:
    """A commit of a transaction whose writes wait in the session (:func:`begin_late`): it takes its connection,
    and they go with the COMMIT."""
    root = session.get_transaction()
    if root is not None and (waiting := _WAITING.get(root)) is not None and waiting.queued:
        session.connection()


@event.listens_for(Session, "after_begin")
def _on_connection_taken(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    """A transaction takes its connection: the writes waiting in the session go first in its next trip; what was
    read early answers no more."""
    session.info.pop(_EARLY, None)
    root = session.get_transaction()
    waiting = _WAITING.pop(root, None) if root is not None else None
    if waiting is not None and waiting.queued:
        connection.info[_LATER] = [*connection.info.get(_LATER, ()), *waiting.queued]
