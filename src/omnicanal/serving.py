"""How uvicorn serves the hub — one choice for ``omnicanal serve`` and for the benchmarks, which measure it."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, TypedDict

# With several workers, each takes at most this many new connections when its loop finds the shared listening
# socket ready, so that the worker that is least busy — the first to wake — takes the next one.
ACCEPTS_PER_TURN = 1


class UvicornOptions(TypedDict):
    loop: str
    http: str


def uvicorn_options(workers: int = 1) -> UvicornOptions:
    """uvicorn's event loop and HTTP parser.

    asyncio's own event loop, not uvloop: libuv accepts one new connection per turn of its loop (libuv/libuv#3696),
    and a busy hub's turns are long, so a burst of new connections waited up to a second to be accepted — measured
    on SQLite orders at full load: 32 connections took 0.9 s to be accepted under uvloop, under 0.1 s under asyncio,
    whose loop accepts up to the listen backlog at once; the p99 of the orders went from 720 ms to 95–143 ms, at the
    same CPU per request (2.0–2.2 ms an order, 0.24–0.26 ms an availability read).

    With several workers sharing one listening socket, accepting everything at once hands a burst of connections to
    whichever worker wakes first: measured with 2 workers under 32 benchmark clients, 32/0, 26/6 and 21/11 splits,
    one worker saturated while the other idled. Each worker then takes turns (:class:`TakingTurnsLoop`).

    httptools parses HTTP when installed (it is, with ``uvicorn[standard]``)."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return {"loop": "asyncio" if workers == 1 else f"{__name__}:TakingTurnsLoop", "http": http}


class TakingTurnsLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, accepting :data:`ACCEPTS_PER_TURN` connection(s) each time the listening socket is ready
    rather than all that wait. Every worker's loop is woken by a new connection; an idle one wakes at once and
    takes it, a busy one only after its turn, by when it is gone — connections go where there is time for them."""

    def _accept_connection(self, protocol_factory: Any, sock: Any, sslcontext: Any = None, server: Any = None,
                           backlog: int = 100, *args: Any, **kwargs: Any) -> None:
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, min(backlog, ACCEPTS_PER_TURN), *args, **kwargs)
