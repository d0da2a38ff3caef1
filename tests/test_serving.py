"""How the hub is served: with several workers on one listening socket, each takes one new connection at a time,
and leaves it to a sibling holding fewer."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from omnicanal.serving import AHEAD_BY, Siblings, TakingTurnsLoop, forget_gone_servers, uvicorn_options


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


def _taking_turns(siblings_folder, me: int, **options) -> TakingTurnsLoop:
    return TakingTurnsLoop(siblings=Siblings(siblings_folder, me=me), **options)


class _Taken(list[_Connection]):
    """The connections a server has taken so far, and word of each new one."""

    def __init__(self) -> None:
        super().__init__()
        self.more = asyncio.Event()

    def connection(self) -> _Connection:
        self.append(_Connection())
        self.more.set()
        return self[-1]


def _serve(loop: asyncio.AbstractEventLoop, listener: socket.socket) -> tuple[asyncio.Server, _Taken]:
    """A real asyncio server on ``listener`` in ``loop``, and the connections it has taken so far."""
    taken = _Taken()
    return loop.run_until_complete(loop.create_server(taken.connection, sock=listener)), taken


def _run_until(loop: asyncio.AbstractEventLoop, taken: _Taken, count: int, *, within: float = 10.0) -> None:
    async def waiting() -> None:
        while len(taken) < count:
            taken.more.clear()
            await taken.more.wait()

    loop.run_until_complete(asyncio.wait_for(waiting(), within))


def _look_again_times(loop: TakingTurnsLoop, times: int) -> None:
    """Run ``loop`` until it has looked again ``times`` times at a connection it left to a sibling."""
    looked = asyncio.Semaphore(0)
    look_again = loop._look_again

    def counted(*args: object) -> None:
        looked.release()
        look_again(*args)

    loop._look_again = counted  # type: ignore[method-assign]

    async def looking() -> None:
        for _ in range(times):
            await looked.acquire()

    loop.run_until_complete(asyncio.wait_for(looking(), 10))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    listening = socket.create_server(("127.0.0.1", 0))
    listening.setblocking(False)
    yield listening
    listening.close()


def test_a_worker_holding_more_connections_leaves_the_next_one_to_a_sibling_holding_fewer(tmp_path, listener):
    sibling = Siblings(tmp_path, me=os.getppid())  # a live process, as a sibling worker's is
    sibling.publish(0)
    loop = _taking_turns(tmp_path, os.getpid(), leave_for_sibling_s=3600)
    server, taken = _serve(loop, listener)
    clients = []
    try:
        for held in range(AHEAD_BY):
            clients.append(socket.create_connection(listener.getsockname()))
            _run_until(loop, taken, held + 1)
        clients.append(socket.create_connection(listener.getsockname()))
        _look_again_times(loop, 5)
        assert len(taken) == AHEAD_BY  # the sibling, holding none, is to take it
        sibling.publish(AHEAD_BY)  # ...and has taken as many since
        _run_until(loop, taken, AHEAD_BY + 1)
        assert Siblings(tmp_path, me=os.getppid()).fewest_elsewhere() == AHEAD_BY + 1  # what this worker published
    finally:
        for client in clients:
            client.close()
        server.close()
        loop.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [str(os.getppid())]  # a closed worker's count is gone


def test_a_connection_left_to_a_sibling_that_does_not_take_it_is_taken_after_a_while(tmp_path, listener):
    Siblings(tmp_path, me=os.getppid()).publish(0)  # a sibling too busy to take connections
    _takes_every_one_of(AHEAD_BY + 2, _taking_turns(tmp_path, os.getpid(), leave_for_sibling_s=0.05), listener)


def test_a_gone_sibling_is_forgotten(tmp_path):
    gone = _a_pid_no_longer_running()
    (tmp_path / str(gone)).write_text("0")
    Siblings(tmp_path, me=os.getppid()).publish(7)
    assert Siblings(tmp_path, me=os.getpid()).fewest_elsewhere() == 7
    assert not (tmp_path / str(gone)).exists()


def _a_pid_no_longer_running() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_workers_that_cannot_share_their_counts_each_take_what_they_find(tmp_path, listener):
    siblings = Siblings(tmp_path / "shared", me=os.getpid())
    (tmp_path / "shared").rmdir()  # the temporary folder is gone
    _takes_every_one_of(AHEAD_BY + 2, TakingTurnsLoop(siblings=siblings, leave_for_sibling_s=3600), listener)


def _takes_every_one_of(connections: int, loop: TakingTurnsLoop, listener: socket.socket) -> None:
    """Connect ``connections`` clients and run ``loop`` until it has taken them all (failing after 10 s)."""
    server, taken = _serve(loop, listener)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(connections)]
    try:
        _run_until(loop, taken, connections)
    finally:
        for client in clients:
            client.close()
        server.close()
        loop.close()


def test_the_counts_of_a_uvicorn_no_longer_running_are_removed(tmp_path):
    gone = tmp_path / f"omnicanal-workers-{_a_pid_no_longer_running()}"
    running = tmp_path / f"omnicanal-workers-{os.getpid()}"
    for folder in (gone, running):
        folder.mkdir()
        (folder / "12345").write_text("3")
    forget_gone_servers(tmp_path)
    assert not gone.exists()
    assert (running / "12345").read_text() == "3"
