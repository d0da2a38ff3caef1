"""One transaction per request, and ``Idempotency-Key`` for every write.

:class:`TransactionalRoute` opens the request's session, runs the endpoint, and commits once on success
(rolls back on any error). A write carrying an ``Idempotency-Key`` header claims the key inside the same
transaction; a replay — even a concurrent one — gets the first answer back and writes nothing. On SQLite a write
first runs counting on what its writes will answer (``kit.prebuilt.counting_on_answers``: every write then goes
with the COMMIT), and once more, reading every answer, if one answered otherwise (:func:`in_transaction`).

:func:`write_afterwards` lets a read (which writes nothing: reads run in autocommit) or a refused
write still record something — the audit log of who read personal data — in a short transaction of its own,
once the request's transaction has ended (so it never waits on that transaction's SQLite write lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from omnicanal.db import Database, table_of, upsert_dialect
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest
from omnicanal.kit.idempotency import IdempotencyRecord
from omnicanal.kit.prebuilt import COUNTING_ON_ANSWERS, Prebuilt, Soon, Unexpected, commit, counting_on_answers

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 200
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Afterward = Callable[[AsyncSession, int], Awaitable[None]]
AFTERWARDS = "omnicanal.afterwards"
# A JSON "\u0000" — unless its backslash is itself escaped ("\\u0000" is the six characters \u0000).
_NUL_IN_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REFUSED = "Text may not contain the NUL character (U+0000)."


def write_afterwards(session: AsyncSession, write: Afterward) -> bool:
    """Run ``write(writer_session, response_status)`` in its own transaction once the request's transaction
    has ended, whatever its outcome (status 500 if it failed unexpectedly). Answers ``False`` when ``session``
    is not a request's (a CLI command or a job): the caller then writes in ``session`` itself."""
    pending: list[Afterward] | None = session.info.get(AFTERWARDS)
    if pending is None:
        return False
    pending.append(write)
    return True


async def _run_afterwards(db: Database, pending: list[Afterward], status: int) -> None:
    if not pending:
        return
    async with db.writer() as session:
        for write in pending:
            await write(session, status)
        await session.commit()


def _fingerprint(request: Request, body: bytes) -> str:
    """The request's method, path, query and body, hashed. The path and query as ``request.url`` gives them, read
    off the ASGI scope: building the whole URL would cost more than the hash."""
    path = request.scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = request.scope.get("query_string", b"")
    return hashlib.sha256(b"%s %s?%s\n%s" % (request.method.encode(), path.encode(), query, body)).hexdigest()


def _scope(request: Request, key: str) -> str:
    """Keys are per caller: the same key from two API keys names two different requests."""
    caller = request.headers.get("authorization", "")
    return hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()


def _claim_statement(dialect_name: str) -> Insert:
    return (
        upsert_dialect(dialect_name).insert(table_of(IdempotencyRecord))
        .on_conflict_do_nothing(index_elements=["scope"])
        .returning(table_of(IdempotencyRecord).c.scope)
    )


_CLAIM = {name: Prebuilt(_claim_statement(name)) for name in ("sqlite", "postgresql")}
_RECORD = Prebuilt(
    update(table_of(IdempotencyRecord)).where(table_of(IdempotencyRecord).c.scope == bindparam("key"))
    .values(status_code=bindparam("b_status"), media_type=bindparam("b_media_type"), body=bindparam("b_body")))


async def _earlier(session: AsyncSession, claim: Soon, scope: str) -> IdempotencyRecord | None:
    """``None`` when this request holds its key; else the record of the request that held it first (once that
    one has ended: the claim waits for it) — and what this request did is undone."""
    if await claim.rows(session):
        return None
    await session.rollback()
    pending = session.info.get(AFTERWARDS)
    if pending is not None:
        pending.clear()  # a replay records nothing afterwards either
    return (await session.execute(select(IdempotencyRecord).where(IdempotencyRecord.scope == scope))).scalar_one()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise InvalidRequest("This Idempotency-Key was already used for a different request.",
                             code="idempotency-key-reused")
    return Response(
        content=record.body or b"", status_code=record.status_code or 200,
        media_type=record.media_type, headers={"Idempotent-Replayed": "true"},
    )


async def _run_write(request: Request, handler: Handler, session: AsyncSession) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler(request)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    scope, fingerprint = _scope(request, key), _fingerprint(request, await request.body())
    # The claim travels with the endpoint's first round trip (on PostgreSQL; at once elsewhere) and is read once
    # the endpoint is done: a replay — rare — undoes what the endpoint did and answers what the first one did.
    claim = await _CLAIM[session.get_bind().dialect.name].rows_soon(
        session, {"scope": scope, "fingerprint": fingerprint, "created_at": utcnow()})
    try:
        response = await handler(request)
    except Exception:
        try:
            earlier = await _earlier(session, claim, scope)
        except SQLAlchemyError:  # the transaction failed before the claim was back: the endpoint's error stands
            earlier = None
        if earlier is None:
            raise
        return _replay(earlier, fingerprint)
    if counting_on_answers(session):  # nothing sent yet: the claim goes with the COMMIT, counted on to succeed
        claim.expected = [(scope,)]
    elif (earlier := await _earlier(session, claim, scope)) is not None:
        return _replay(earlier, fingerprint)
    await _RECORD.run_later(session, {"key": scope, "b_status": response.status_code,
                                      "b_media_type": response.media_type, "b_body": bytes(response.body)})
    return response


async def _refuse_nul(request: Request, writes: bool) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the path, the query or a JSON body before anything is read
    or written — on every database alike, so that what SQLite takes PostgreSQL does too."""
    scope = request.scope
    if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
        raise InvalidRequest(NUL_REFUSED)
    if writes and _NUL_IN_JSON.search(await request.body()):
        raise InvalidRequest(NUL_REFUSED)


def document_idempotency(schema: dict[str, Any]) -> dict[str, Any]:
    """Show ``Idempotency-Key`` in an OpenAPI document as what it is to a client: an optional header of every write,
    and ``Idempotent-Replayed`` on the answers a replay repeats."""
    key = {"name": "Idempotency-Key", "in": "header", "required": False,
           "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
           "description": "Send the same key again (with the same body) and get the first answer back, nothing "
                          "written twice — even while the first request is still running. Another body: 422."}
    replayed = {"Idempotent-Replayed": {"description": "`true` when this answer repeats the first one sent with "
                                                       "the same Idempotency-Key.",
                                        "schema": {"type": "string", "enum": ["true"]}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method.upper() in WRITE_METHODS:
                operation.setdefault("parameters", []).append(key)
                for code, response in operation.get("responses", {}).items():
                    if code.startswith("2"):
                        response.setdefault("headers", {}).update(replayed)
    return schema


def _holds_anything(session: AsyncSession) -> bool:
    sync = session.sync_session
    return sync.in_transaction() or bool(sync.identity_map or sync.new or sync.deleted)


IDLE_READERS_KEPT = 64


def _reader(db: Database) -> AsyncSession:
    return db.idle_readers.pop() if db.idle_readers else db.reader()


def _keep_reader(db: Database, session: AsyncSession) -> None:
    """Keep a read session that holds nothing for the next read: building one costs a read some 3 % of its CPU,
    and most reads (whose statements took pooled connections apart) leave theirs as built — but for ``info``."""
    if len(db.idle_readers) < IDLE_READERS_KEPT:
        session.info.clear()
        db.idle_readers.append(session)


@contextlib.asynccontextmanager
async def reading(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for reads outside any route (autocommit, as a read route's): kept for the next read if it ends
    holding nothing, else closed."""
    session = _reader(db)
    try:
        yield session
    finally:
        if _holds_anything(session):
            await session.close()
        else:
            _keep_reader(db, session)


class TransactionalRoute(APIRoute):
    """An API route whose endpoint runs inside exactly one database transaction."""

    always_writes = False

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        writes = self.always_writes or bool((self.methods or set()) & WRITE_METHODS)

        async def run_in_transaction(request: Request) -> Response:
            return await in_transaction(request, handler, writes=writes)

        return run_in_transaction


async def in_transaction(request: Request, handler: Handler, *, writes: bool) -> Response:
    """``handler(request)`` inside one database transaction (:class:`TransactionalRoute`); then what it left to
    write afterwards. On SQLite a write counts on its writes' answers first (:func:`_attempt`), and runs once
    more, reading them, if one answered otherwise."""
    await _refuse_nul(request, writes)
    db: Database = request.app.state.db
    pending: list[Afterward] = []
    status = 500
    try:
        if writes and db.counts_on_answers:
            try:
                response = await _attempt(request, handler, db, pending, writes=True, counting=True)
            except Unexpected:  # rolled back: once more, reading every answer
                pending.clear()
                response = await _attempt(request, handler, db, pending, writes=True)
        else:
            response = await _attempt(request, handler, db, pending, writes=writes)
        status = response.status_code
        return response
    except BaseException as exc:
        status = getattr(exc, "status", 500)
        raise
    finally:
        await _run_afterwards(db, pending, status)


async def _attempt(request: Request, handler: Handler, db: Database, pending: list[Afterward], *, writes: bool,
                   counting: bool = False) -> Response:
    """Run the endpoint in a session of its own and end its transaction: committed if it answered < 400, else
    rolled back. ``counting``: the session may count on what its writes will answer
    (:func:`~omnicanal.kit.prebuilt.counting_on_answers`) — :class:`Unexpected` if one answered otherwise."""
    session = db.writer() if writes else _reader(db)
    try:
        session.info[AFTERWARDS] = pending
        if counting:
            session.info[COUNTING_ON_ANSWERS] = True
        request.state.session = session
        try:
            response = await (_run_write(request, handler, session) if writes else handler(request))
            if writes:
                await (commit(session) if response.status_code < 400 else session.rollback())
        except BaseException:
            await session.rollback()
            raise
        # A read's session is only closed: in autocommit nothing is left to roll back.
        return response
    finally:
        if _holds_anything(session):  # a read whose statements took connections apart holds nothing
            await session.close()
        elif not writes:
            _keep_reader(db, session)


class WritesInTurn:
    """ASGI middleware: where the database writes one transaction at a time (SQLite: ``Database.write_turns``),
    write requests wait their turn here, in order, before anything else is done for them. Let in past every layer
    and left to wait only for the write lock, they would each take the event loop for a moment at every step on the
    way — and every request, the one holding the lock among them, would wait for all the others at each of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITE_METHODS:
            turns: asyncio.Semaphore | None = scope["app"].state.db.write_turns
            if turns is not None:
                async with turns:
                    await self.app(scope, receive, send)
                return
        await self.app(scope, receive, send)


class WritingRoute(TransactionalRoute):
    """For a GET that must also write (e.g. numbering newly committed events before reading them)."""

    always_writes = True
