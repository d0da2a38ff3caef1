"""The timed scenarios' traffic (order placement, availability reads) and the untimed stock top-up before them."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from omnicanal.benchmarks.traffic import Traffic

TOP_UP_UNITS = 100_000
TOP_UP_CONNECTIONS = 8


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def order_body(sku: str, channel: str = "web") -> str:
    return json.dumps({"channel": channel, "fulfillment": "ship", "lines": [{"sku": sku, "quantity": 1}]},
                      separators=(",", ":"))


def order_traffic(skus: list[str], token: str) -> Traffic:
    """One-line ship orders on the web channel for a random SKU, each with its own Idempotency-Key."""
    return Traffic(method="POST", requests=[("/api/v1/orders", order_body(sku)) for sku in skus],
                   headers=auth_headers(token), unique_keys=True, success=201)


def availability_traffic(skus: list[str], token: str) -> Traffic:
    """What the web shop asks before showing a product page: the SKU's availability on the web channel."""
    return Traffic(method="GET", requests=[(f"/api/v1/availability/{sku}?channel=web", None) for sku in skus],
                   headers={"Authorization": f"Bearer {token}"}, success=200)


async def top_up(base_url: str, token: str, *, location: str, skus: list[str], units: int = TOP_UP_UNITS) -> int:
    """Receive ``units`` of every SKU at ``location`` through the API (so the ledger explains them), so that
    the order scenario measures placing orders rather than running out of stock. Answers how many failed."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for sku in skus:
        queue.put_nowait(sku)
    failures = 0
    async with aiohttp.ClientSession(base_url, headers=auth_headers(token),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def receive() -> None:
            nonlocal failures
            while not queue.empty():
                sku = queue.get_nowait()
                async with session.post(f"/api/v1/locations/{location}/stock/{sku}/receipts",
                                        json={"quantity": units, "reference": "benchmark top-up"}) as answer:
                    await answer.read()
                    failures += answer.status != 201

        await asyncio.gather(*(receive() for _ in range(TOP_UP_CONNECTIONS)))
    return failures
