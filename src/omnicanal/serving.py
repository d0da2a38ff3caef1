"""How uvicorn serves the hub — one choice for ``omnicanal serve`` and for the benchmarks, which measure it."""

from __future__ import annotations

import importlib.util
from typing import Literal, TypedDict


class UvicornOptions(TypedDict):
    loop: Literal["asyncio"]
    http: Literal["httptools", "h11"]


def uvicorn_options() -> UvicornOptions:
    """uvicorn's event loop and HTTP parser.

    asyncio's own event loop, not uvloop: libuv accepts one new connection per turn of its loop (libuv/libuv#3696),
    and a busy hub's turns are long, so a burst of new connections waited up to a second to be accepted — measured
    on SQLite orders at full load: 32 connections took 0.9 s to be accepted under uvloop, under 0.1 s under asyncio,
    whose loop accepts up to the listen backlog at once; the p99 of the orders went from 720 ms to 95–143 ms, at the
    same CPU per request (2.0–2.2 ms an order, 0.24–0.26 ms an availability read). httptools parses HTTP when
    installed (it is, with ``uvicorn[standard]``)."""
    return {"loop": "asyncio", "http": "httptools" if importlib.util.find_spec("httptools") else "h11"}
