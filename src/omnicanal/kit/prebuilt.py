"""Prebuilt statements for the hot paths, run straight on the session's own driver connection.

An order placed runs about fifteen statements. Through SQLAlchemy's execution layer (greenlet hop, execution
context, cursor and result wrappers) each costs two to three times its round trip in CPU. A :class:`Prebuilt`
statement is compiled once per dialect (and per set of columns inserted) by SQLAlchemy, with SQLAlchemy's own
bind and result processors (sealed columns, JSON, UTC timestamps, SQLite booleans), and then sent by the driver
directly — on the same connection, so inside the request's one transaction.

Use it only for Core statements on hot paths; everything else goes through the session as usual. Driver errors
are raised as SQLAlchemy's (``IntegrityError`` …), so the problem+json handlers see what they always saw.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, Select, Update, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

Params = Mapping[str, Any]
Processor = Callable[[Any], Any]
DRIVERS = ("psycopg", "aiosqlite")  # the drivers this module knows how to call; others use SQLAlchemy
MANY_ROWS = 50  # an INSERT of up to this many rows is sent as one multi-row statement
_CONNECTION = "omnicanal.prebuilt.connection"


@dataclass
class _Form:
    """A statement compiled for one dialect: its SQL, how to prepare parameters and read rows."""

    compiled: SQLCompiler
    sql: str
    expanding: tuple[str, ...]  # the IN-list parameters, rendered one placeholder per value
    binds: dict[str, Processor]
    positions: tuple[str, ...] | None  # qmark order (SQLite); None for named parameters
    row: Any  # a namedtuple class (None when the statement returns no rows)
    types: tuple[Any, ...]  # of the columns returned, adapted to the dialect
    results: tuple[Processor | None, ...] | None = None  # known once the driver has described the columns
    expanded: dict[tuple[int, ...], Any] = field(default_factory=dict)  # by the lengths of the IN lists

    def parameters(self, params: Params) -> tuple[str, Any]:
        """The SQL and the driver's parameters for one set of ``params``."""
        sql: str = self.sql
        binds: Mapping[str, Any] = self.binds
        positions: Sequence[str] | None = self.positions
        values = dict(self.compiled.construct_params(params))
        if self.expanding:  # SQLAlchemy renders an IN list one placeholder per value: once per list length
            lengths = tuple(len(values[name]) for name in self.expanding)
            state = self.expanded.get(lengths)
            if state is None:
                state = self.expanded[lengths] = self.compiled.construct_expanded_state(params)
            for name, names in state.parameter_expansion.items():
                values.update(zip(names, values.pop(name), strict=True))
            sql, binds, positions = state.statement, state.processors, state.positiontup
        for key, process in binds.items():
            if key in values:
                values[key] = process(values[key])
        return sql, (tuple(values[key] for key in positions) if positions is not None else values)

    def rows(self, dialect: Dialect, raw: Sequence[Sequence[Any]], description: Sequence[Any] | None) -> list[Any]:
        if self.results is None:  # as SQLAlchemy does: a column's processor may depend on the driver's type code
            codes = [column[1] for column in description] if description else [None] * len(self.types)
            self.results = tuple(t.result_processor(dialect, code) for t, code in zip(self.types, codes, strict=True))
        make, results = self.row._make, self.results
        if not any(results):
            return [make(r) for r in raw]
        return [make(value if process is None else process(value) for process, value in zip(results, r, strict=True))
                for r in raw]


def _returned_columns(statement: Any) -> list[Any]:
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    return list(statement.exported_columns) if getattr(statement, "_returning", ()) else []


class Prebuilt:
    """A Core statement (SELECT, INSERT, UPDATE) run with :meth:`rows`, :meth:`run` or :meth:`run_many`."""

    def __init__(self, statement: Select[*tuple[Any, ...]] | Insert | Update) -> None:
        self.statement = statement
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
        positions = tuple(compiled.positiontup or ()) if dialect.positional else None
        binds: dict[str, Processor] = dict(compiled._bind_processors)  # type: ignore[arg-type]  # no tuple binds
        expanding = tuple(compiled.escaped_bind_names.get(p.key, p.key) for p in compiled.post_compile_params)
        return _Form(compiled=compiled, sql=compiled.string, expanding=expanding,
                     binds=binds, positions=positions, row=row,
                     types=tuple(c.type.dialect_impl(dialect) for c in columns))

    async def rows(self, session: AsyncSession, params: Params) -> list[Any]:
        """The rows the statement answers (named tuples: ``row.column`` or unpacked)."""
        connection, driver = await _connection(session)
        form = self._form(connection.dialect, _keys(self.statement, params))
        if driver is None:
            return list((await connection.execute(self.statement, params)).all())
        sql, values = form.parameters(params)
        return form.rows(connection.dialect, *await _fetch(connection.dialect, driver, sql, values,
                                                           describe=form.results is None))

    async def first(self, session: AsyncSession, params: Params) -> Any | None:
        found = await self.rows(session, params)
        return found[0] if found else None

    async def run(self, session: AsyncSession, params: Params) -> int:
        """Execute for one set of parameters; answers the rows affected."""
        connection, driver = await _connection(session)
        if driver is None:
            return int((await connection.execute(self.statement, params)).rowcount)
        sql, values = self._form(connection.dialect, _keys(self.statement, params)).parameters(params)
        return await _execute(connection.dialect, driver, sql, values)

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
        await _execute_many(connection.dialect, driver, prepared[0][0], [values for _, values in prepared])

    def _rows_at_once(self, count: int, keys: tuple[str, ...]) -> Prebuilt:
        """This INSERT as one statement of ``count`` rows (one round trip, no pipeline to set up)."""
        found = self._multirow.get((count, keys))
        if found is None:
            table = self.statement.table  # type: ignore[union-attr]
            rows = [{key: bindparam(f"r{n}_{key}", type_=table.c[key].type) for key in keys} for n in range(count)]
            found = self._multirow[(count, keys)] = Prebuilt(insert(table).values(rows))
        return found


async def _connection(session: AsyncSession) -> tuple[AsyncConnection, Any | None]:
    """The session's connection and the driver's under it, found once per transaction (asking the session costs
    a greenlet hop each time)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction and transaction.is_active:
        return cached[1], cached[2]
    connection = await session.connection()
    driver = _driver(connection)
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), connection, driver)
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


async def _fetch(dialect: Dialect, driver: Any, sql: str, values: Any, *, describe: bool) -> tuple[list[Any], Any]:
    """The rows, and the driver's description of their columns when ``describe`` (psycopg builds it anew on each
    reading: only the first execution of a statement needs it)."""
    try:
        if dialect.driver == "psycopg":
            cursor = await driver.execute(sql, values)
            return list(await cursor.fetchall()), cursor.description if describe else None
        async with driver.execute(sql, values) as cursor:
            return list(await cursor.fetchall()), cursor.description
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc


async def _execute(dialect: Dialect, driver: Any, sql: str, values: Any) -> int:
    try:
        if dialect.driver == "psycopg":
            return int((await driver.execute(sql, values)).rowcount)
        async with driver.execute(sql, values) as cursor:
            return int(cursor.rowcount)
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc


async def _execute_many(dialect: Dialect, driver: Any, sql: str, values: list[Any]) -> None:
    try:
        if dialect.driver == "psycopg":
            async with driver.cursor() as cursor:
                await cursor.executemany(sql, values)
        else:
            async with driver.executemany(sql, values):
                pass
    except Exception as exc:
        raise _wrap(dialect, sql, values, exc) from exc
