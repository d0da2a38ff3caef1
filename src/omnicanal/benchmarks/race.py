"""The hot-SKU race: a few units of one SKU at one location, many concurrent ship orders on the online
channels, and the books checked afterwards.

Before the race every level of the SKU is counted so that exactly ``units`` can be promised, all at the hot
location (elsewhere on hand equals what is already reserved; safety stock and the channels' buffers at 0, the
buffers restored afterwards). Then ``clients`` × ``attempts`` one-unit orders race for them while a watcher
re-reads the hot level. Oversold units are every unit promised beyond ``units`` by any measure: 201 answers,
reservations added, on hand below reserved in the end or at any moment the watcher saw.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from omnicanal.benchmarks.scenarios import auth_headers, order_body
from omnicanal.benchmarks.traffic import percentile

WATCH_LIMIT = 5_000  # reads of the hot level during the race, at most


@dataclass
class RaceResult:
    sku: str
    location: str
    units: int
    attempts: int
    statuses: dict[int, int] = field(default_factory=dict)
    units_sold: int = 0
    sold_elsewhere: int = 0
    reserved_added: int = 0
    lowest_gap_seen: int = 0  # min(on_hand - reserved) at the hot location, during and after
    watch_reads: int = 0
    ledger_mismatches: int = 0
    available_after: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0

    @property
    def sold(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def refused(self) -> int:
        return self.statuses.get(409, 0)

    @property
    def oversold(self) -> int:
        return max(0, self.sold - self.units, self.units_sold - self.units, self.reserved_added - self.units,
                   -self.lowest_gap_seen)

    @property
    def exact(self) -> bool:
        """Exactly ``units`` sold, every other attempt refused for lack of stock, the books balanced."""
        return (self.sold == self.units == self.units_sold == self.reserved_added and self.oversold == 0
                and self.refused == self.attempts - self.units and self.ledger_mismatches == 0
                and self.available_after == 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku, "location": self.location, "units": self.units, "attempts": self.attempts,
            "sold": self.sold, "refused": self.refused,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "units_sold": self.units_sold, "sold_elsewhere": self.sold_elsewhere,
            "reserved_added": self.reserved_added, "lowest_on_hand_minus_reserved": self.lowest_gap_seen,
            "watch_reads": self.watch_reads, "ledger_mismatches": self.ledger_mismatches,
            "available_after_on_web": self.available_after, "oversold": self.oversold, "exact": self.exact,
            "seconds": round(self.seconds, 3), "latency_ms": {"p50": round(self.p50_ms, 2),
                                                              "p99": round(self.p99_ms, 2)},
        }


async def _json(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with session.request(method, path, json=body) as answer:
        payload = await answer.json(content_type=None)
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path} answered {answer.status}: {payload}")
        return payload


async def _levels(session: aiohttp.ClientSession, sku: str, locations: list[str]) -> dict[str, dict[str, int]]:
    levels = {}
    for location in locations:
        level = await _json(session, "GET", f"/api/v1/locations/{location}/stock/{sku}")
        levels[location] = {"on_hand": level["on_hand"], "reserved": level["reserved"]}
    return levels


async def _stage(session: aiohttp.ClientSession, sku: str, hot: str, units: int) -> dict[str, dict[str, int]]:
    """Count every level so that ``units`` can be promised, all at ``hot``; answers the levels after counting."""
    found = await _json(session, "GET", f"/api/v1/availability/{sku}")
    locations = sorted({entry["location"] for entry in found["locations"]} | {hot})
    for location in locations:
        reserved = 0
        if location in {entry["location"] for entry in found["locations"]}:
            reserved = (await _json(session, "GET", f"/api/v1/locations/{location}/stock/{sku}"))["reserved"]
        await _json(session, "PUT", f"/api/v1/locations/{location}/stock/{sku}", {
            "on_hand": reserved + (units if location == hot else 0), "safety": 0,
            "reason": "benchmark: hot-SKU race"})
    return await _levels(session, sku, locations)


async def _set_buffers(session: aiohttp.ClientSession, buffers: dict[str, int]) -> None:
    for channel, buffer in buffers.items():
        await _json(session, "PATCH", f"/api/v1/channels/{channel}", {"safety_buffer": buffer})


async def run_race(base_url: str, token: str, *, sku: str, location: str, channels: list[str], units: int,
                   clients: int, attempts: int, run_id: str) -> RaceResult:
    """Stage the SKU, race ``clients`` × ``attempts`` one-unit orders for its ``units``, check the books."""
    result = RaceResult(sku=sku, location=location, units=units, attempts=clients * attempts)
    async with aiohttp.ClientSession(base_url, headers=auth_headers(token),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        buffers = {code: (await _json(session, "GET", f"/api/v1/channels/{code}"))["safety_buffer"]
                   for code in channels}
        await _set_buffers(session, dict.fromkeys(channels, 0))
        try:
            before = await _stage(session, sku, location, units)
            await _race(base_url, token, result, channels, clients, attempts, run_id)
            after = await _levels(session, sku, list(before))
        finally:
            await _set_buffers(session, buffers)
        _compare(result, before, after)
        result.ledger_mismatches = len(await _json(session, "GET", f"/api/v1/stock/ledger-check?sku={sku}"))
        result.available_after = (await _json(session, "GET", f"/api/v1/availability/{sku}?channel=web"))["total"]
    return result


def _compare(result: RaceResult, before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> None:
    result.reserved_added = sum(after[loc]["reserved"] - before[loc]["reserved"] for loc in before)
    gaps = [level["on_hand"] - level["reserved"] for level in after.values()]
    result.lowest_gap_seen = min([result.lowest_gap_seen, *gaps])


async def _race(base_url: str, token: str, result: RaceResult, channels: list[str], clients: int, attempts: int,
                run_id: str) -> None:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    racing = True
    connector = aiohttp.TCPConnector(limit=clients + 1)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=auth_headers(token),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def client(number: int) -> None:
            for attempt in range(attempts):
                channel = channels[(number + attempt) % len(channels)]
                began = time.perf_counter()
                async with session.post("/api/v1/orders", data=order_body(result.sku, channel),
                                        headers={"Idempotency-Key": f"{run_id}-race-{number}-{attempt}"}) as answer:
                    body = await answer.json(content_type=None)
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[answer.status] += 1
                if answer.status == 201:
                    for line in body["lines"]:
                        result.units_sold += line["quantity"]
                        result.sold_elsewhere += line["quantity"] if line["location"] != result.location else 0

        async def watch() -> None:
            path = f"/api/v1/locations/{result.location}/stock/{result.sku}"
            while racing and result.watch_reads < WATCH_LIMIT:
                async with session.get(path) as answer:
                    level = await answer.json(content_type=None)
                result.watch_reads += 1
                result.lowest_gap_seen = min(result.lowest_gap_seen, level["on_hand"] - level["reserved"])

        began = time.perf_counter()
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(client(n) for n in range(clients)))
        result.seconds = time.perf_counter() - began
        racing = False
        await watcher
    latencies.sort()
    result.statuses = dict(statuses)
    result.p50_ms, result.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
