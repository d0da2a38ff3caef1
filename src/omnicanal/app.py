"""``create_app(settings)``: assembles the routers, the problem+json handlers and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from omnicanal import __version__
from omnicanal.access import api as access_api
from omnicanal.access.service import KeyVerifier
from omnicanal.audit import api as audit_api
from omnicanal.catalog import api as catalog_api
from omnicanal.config import Settings, get_settings
from omnicanal.customers import activity_api
from omnicanal.customers import api as customers_api
from omnicanal.db import Database, connect
from omnicanal.events import api as events_api
from omnicanal.fulfillment import api as fulfillment_api
from omnicanal.inventory import api as inventory_api
from omnicanal.inventory.shortcut import AvailabilityShortcut
from omnicanal.inventory.sweeper import sweep_forever
from omnicanal.kit import crypto
from omnicanal.kit.errors import document_problems, install_problem_handlers
from omnicanal.kit.transaction import WritesInTurn, document_idempotency
from omnicanal.network import api as network_api
from omnicanal.orders import api as orders_api
from omnicanal.orders.shortcut import OrderShortcut
from omnicanal.privacy import api as privacy_api
from omnicanal.returns import api as returns_api
from omnicanal.routing import api as routing_api
from omnicanal.tryon import api as tryon_api

log = logging.getLogger("omnicanal")
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Routes are matched in this order, one by one (twice: to choose the router, then the route in it): the
# hottest come first — availability, then order placement. No route takes another's requests (tested).
ROUTERS = [
    inventory_api.availability_router, orders_api.router, inventory_api.router, catalog_api.router,
    network_api.router, customers_api.router,
    events_api.router, *access_api.routers, audit_api.router,
    returns_api.router, tryon_api.router, fulfillment_api.router, routing_api.router,
    routing_api.orders_router,
    activity_api.router, privacy_api.router, privacy_api.export_router,
]

DESCRIPTION = """
Omnicanal is the single source of truth that a retailer's stores, web shop, app, kiosks and marketplaces
share: one catalog and channel prices, one real-time stock per store and warehouse, one customer, every
channel's orders — and the events that keep every channel in step.

* Authenticate with `Authorization: Bearer <token>`: an API key (`omnicanal create-api-key`) or a console
  user's session token (`POST /api/v1/auth/login`). Store staff see their stores' data only.
* Every write honours an `Idempotency-Key` header: a replay returns the first answer and writes nothing.
* Lists take `?limit=` (default 50, max 500) and `?cursor=`; they answer `{"items": [...], "next": cursor}`.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None, *, background_jobs: bool = True) -> FastAPI:
    """The hub as an ASGI application. ``background_jobs=False`` leaves expiry sweeps to the caller (tests)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db: Database = app.state.db
        sweeper = asyncio.create_task(sweep_forever(db, settings)) if background_jobs else None
        if background_jobs:  # a serving process: what start-up built lives as long as it does
            gc.collect()
            gc.freeze()  # so the collector no longer walks it: shorter pauses, a shorter latency tail
            gc.set_threshold(50_000, 20, 100)  # requests allocate in bursts: collect young objects less often
        try:
            yield
        finally:
            if sweeper:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await db.dispose()

    app = FastAPI(
        title="Omnicanal", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    crypto.configure(settings)  # the keys sealing personal data at rest
    app.state.db = connect(settings)
    app.state.key_verifier = KeyVerifier(settings.admin_token, settings.api_key_cache_seconds)
    install_problem_handlers(app)
    app.add_middleware(AvailabilityShortcut)
    app.add_middleware(OrderShortcut)
    app.add_middleware(WritesInTurn)  # outermost: a write waits its turn before anything is done for it
    for router in ROUTERS:
        app.include_router(router)
    _add_operational_routes(app)
    _complete_openapi(app)
    return app


def _complete_openapi(app: FastAPI) -> None:
    """What FastAPI cannot know goes into the OpenAPI document: the errors as they are answered, idempotency."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_idempotency(document_problems(build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_operational_routes(app: FastAPI) -> None:
    app.mount("/assets/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="Omnicanal API",
            swagger_js_url="/assets/docs/swagger-ui-bundle.js", swagger_css_url="/assets/docs/swagger-ui.css",
            swagger_favicon_url="/assets/docs/favicon.png",
        )

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    async def healthz(request: Request) -> dict[str, str]:
        db: Database = request.app.state.db
        from sqlalchemy import text

        async with db.reader() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ok", "database": db.dialect, "version": __version__}
