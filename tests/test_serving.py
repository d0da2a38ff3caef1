"""How the hub is served: with several workers on one listening socket, each takes one new connection at a time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from omnicanal.serving import TakingTurnsLoop, uvicorn_options


@pytest.fixture
def waiting_connections() -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    """A listening socket with three connections waiting to be accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
    yield listener, clients
    for client in clients:
        client.close()
    listener.close()


class _Connection(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


def _accepted_at_once(loop: asyncio.AbstractEventLoop, listener: socket.socket) -> int:
    """How many waiting connections ``loop`` accepts when it finds ``listener`` ready once (what it does then is
    a private method of asyncio's selector loops, the one :class:`TakingTurnsLoop` changes)."""
    accepted: list[_Connection] = []

    def connection() -> _Connection:
        accepted.append(_Connection())
        return accepted[-1]

    async def listener_ready_once() -> None:
        loop._accept_connection(connection, listener, None, None, 100)  # type: ignore[attr-defined]
        await asyncio.gather(*(task for task in asyncio.all_tasks(loop) if task is not asyncio.current_task()))
        for made in accepted:
            made.transport.close()
        await asyncio.sleep(0)

    try:
        loop.run_until_complete(listener_ready_once())
    finally:
        loop.close()
    return len(accepted)


def test_with_several_workers_each_accepts_one_connection_at_a_time(waiting_connections):
    listener, _ = waiting_connections
    assert _accepted_at_once(TakingTurnsLoop(), listener) == 1


def test_a_single_worker_accepts_every_waiting_connection_at_once(waiting_connections):
    listener, _ = waiting_connections
    assert _accepted_at_once(asyncio.SelectorEventLoop(), listener) == 3


def test_the_serve_options_choose_the_loop_by_the_number_of_workers():
    assert uvicorn_options(1)["loop"] == "asyncio"
    assert uvicorn_options(2)["loop"] == "omnicanal.serving:TakingTurnsLoop"
