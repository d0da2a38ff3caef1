"""The hub's most frequent request answered before FastAPI: ``GET /api/v1/availability/{sku}[?channel=…]``.

Every product page of every channel asks for it. Through FastAPI a read costs about a third more CPU than the
read itself: matching the route, solving its dependencies, parsing its parameters, the exception layers.
:class:`AvailabilityShortcut` (an ASGI middleware) answers the plain case itself, with the same service call,
the same authorisation rule and the same bytes as the route (``inventory.api.get_availability``), and hands
everything else to the route untouched, having sent nothing: a token that would need a database read to verify,
a missing or refused credential, a SKU or channel that does not exist, any other query parameter, anything
unusual. The route stays the one documented contract and the one source of every error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from omnicanal.access.rules import Permission
from omnicanal.access.service import trusted_caller
from omnicanal.db import Database
from omnicanal.inventory import service
from omnicanal.inventory.api import availability_json
from omnicanal.kit.transaction import reading

PATH = "/api/v1/availability/"


class AvailabilityShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PATH):
            answer = await _answer(scope)
            if answer is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-length", str(len(answer)).encode()), (b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, receive, send)


async def _answer(scope: Scope) -> bytes | None:
    """The route's answer to a plain request, or ``None`` to let the route answer."""
    sku = scope["path"][len(PATH):]
    query: bytes = scope["query_string"]
    if not sku or "/" in sku or "\x00" in sku or b"%00" in query:
        return None
    channel = None
    if query:
        parameters = parse_qsl(query.decode("latin-1"))
        if len(parameters) != 1 or parameters[0][0] != "channel":
            return None
        channel = parameters[0][1]
    if trusted_caller(scope, Permission.STOCK_READ) is None:
        return None
    db: Database = scope["app"].state.db
    try:
        async with reading(db) as session:
            found = await service.availability_on(session, sku=sku, channel=channel)
    except Exception:  # an unknown SKU or channel, a lost connection: the route answers it as it answers them
        return None
    return availability_json(found)

