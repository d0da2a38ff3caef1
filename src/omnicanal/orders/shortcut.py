"""The hub's most frequent write answered before FastAPI: ``POST /api/v1/orders``.

Every channel places its orders here. Through FastAPI an order costs about a sixth more CPU than the use case
and its transaction: matching the route, solving its dependencies, validating the answer it has just built, the
exception layers. :class:`OrderShortcut` (an ASGI middleware) places the plain order itself — the same body model,
authorisation rule, use case (``orders.api.place``), transaction and idempotency (``kit.transaction``), the same
answer and the same problem+json for a broken rule — and hands everything else to the route untouched, having
sent nothing and written nothing: a token that would need a database read to verify or whose role may not place
orders, a body that is not JSON or not a valid order, a query string, an unforeseen error (rolled back, then
answered by the route as it answers it). The route stays the one documented contract.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnicanal.access.rules import Permission, Principal
from omnicanal.access.service import trusted_caller
from omnicanal.kit.errors import DomainError, domain_problem
from omnicanal.kit.transaction import in_transaction
from omnicanal.orders.api import order_location, order_out, place
from omnicanal.orders.schemas import OrderIn

PATH = "/api/v1/orders"


class OrderShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH
                and not scope["query_string"] and _json_body(scope)):
            await self.app(scope, receive, send)
            return
        principal = trusted_caller(scope, Permission.ORDERS_WRITE)
        if principal is None:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:  # the client went away
            return
        again = _replaying(body, receive)
        answer = await _answer(scope, again, body, principal)
        await (answer or self.app)(scope, again, send)


async def _answer(scope: Scope, receive: Receive, body: bytes, principal: Principal) -> Response | None:
    """The route's answer to a plain order, or ``None`` to let the route answer."""
    try:
        order = OrderIn.model_validate(json.loads(body))  # as FastAPI reads a JSON body
    except (ValueError, ValidationError):  # not JSON (a ValueError), or not an order
        return None
    request = Request(scope, receive)
    request.state.principal = principal
    settings = scope["app"].state.settings

    async def placing(request: Request) -> Response:
        placed = await place(request.state.session, settings, order, principal)
        return Response(order_out(placed).model_dump_json(by_alias=True), status_code=201,
                        media_type="application/json", headers={"Location": order_location(placed)})

    try:
        return await in_transaction(request, placing, writes=True)
    except DomainError as exc:  # a broken rule of the retailer's (nothing written): answered as the route would
        return domain_problem(request, exc)
    except Exception:  # rolled back: the route answers it (and logs it) as it answers everything
        return None


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/json"
    return False


async def _body(receive: Receive) -> bytes | None:
    """The whole request body (``None`` if the client disconnected first)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then listens to the client again (for its disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
