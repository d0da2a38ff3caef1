"""The fallback load generator: an asyncio client on aiohttp with a fixed number of kept-alive connections."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import aiohttp

from omnicanal.benchmarks.traffic import LoadResult, Traffic, percentile


async def python_load(base_url: str, traffic: Traffic, *, clients: int, seconds: float, run_id: str) -> LoadResult:
    """The fallback generator: ``clients`` coroutines, each on its own kept-alive connection."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=traffic.headers,
                                     timeout=aiohttp.ClientTimeout(total=10)) as session:
        async def client(number: int) -> None:
            rng = random.Random(f"{run_id}:{number}")
            for sent in range(1, 10_000_000):  # bounded; the deadline ends it long before
                if loop.time() >= deadline:
                    return
                path, body = rng.choice(traffic.requests)
                headers = {"Idempotency-Key": f"{run_id}-{number}-{sent}"} if traffic.unique_keys else None
                began = time.perf_counter()
                try:
                    async with session.request(traffic.method, path, data=body, headers=headers) as answer:
                        await answer.read()
                except TimeoutError:
                    errors["timeout"] += 1
                    continue
                except aiohttp.ClientError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
                latencies.append(time.perf_counter() - began)
                statuses[answer.status] += 1

        await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = loop.time() - started
    latencies.sort()
    ms = [value * 1000 for value in latencies]
    return LoadResult(
        generator="python", clients=clients, seconds=elapsed, success=traffic.success, statuses=dict(statuses),
        errors=dict(errors), p50_ms=percentile(ms, 50), p90_ms=percentile(ms, 90), p99_ms=percentile(ms, 99),
        mean_ms=sum(ms) / len(ms) if ms else 0.0, max_ms=ms[-1] if ms else 0.0)
