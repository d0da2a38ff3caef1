"""Several hubs at once, as separate servers behind a load balancer: each thread runs a hub of its own (its own
engine and connection pool) with concurrent requests inside it. On PostgreSQL (OMNICANAL_TEST_DATABASE_URL) their
transactions truly run at once; on SQLite they queue for the database's write lock."""

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from omnicanal.app import create_app

HUBS = 4
AUTH = {"Authorization": "Bearer test-admin-token"}
Work = Callable[[httpx.AsyncClient, Any, int], Awaitable[Iterable[Any]]]
MakeRequestPart = Callable[[int, int], dict]


def run_in_hubs(settings, work: Work, *, hubs: int = HUBS, timeout: float = 180) -> list:
    """``await work(client, app, hub)`` in ``hubs`` threads at once, each with a hub of its own: every item the works
    returned, in one list. An error in a thread is raised here."""
    results: list = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    async def one_hub(hub: int) -> list:
        app = create_app(settings, background_jobs=False)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub",
                                         headers=AUTH) as client:
                return list(await work(client, app, hub))
        finally:
            await app.state.db.dispose()

    def thread(hub: int) -> None:
        try:
            found = asyncio.run(one_hub(hub))
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.extend(found)

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(hubs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a hub is still running: a deadlock?"
    if errors:
        raise errors[0]
    return results


def race_posts(settings, path: str, clients: int, make_body: MakeRequestPart,
               make_headers: MakeRequestPart | None = None, *, hubs: int = HUBS) -> Counter:
    """In each of ``hubs`` hubs, ``clients`` POSTs to ``path`` at once — ``make_body(hub, n)``, with the headers
    ``make_headers(hub, n)``: how many answers had each status."""

    async def post_all(client: httpx.AsyncClient, _app: Any, hub: int) -> list[int]:
        responses = await asyncio.gather(*(
            client.post(path, json=make_body(hub, n), headers=make_headers(hub, n) if make_headers else None)
            for n in range(clients)))
        return [r.status_code for r in responses]

    return Counter(run_in_hubs(settings, post_all, hubs=hubs))
