"""The hub's processes take turns to write a SQLite file (``kit.writer_turn``): a writer waits for another process's
turn without stopping the event loop, holds the turn only while its transaction is open, and two hubs writing one
file at once lose nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from omnicanal.db import Database, connect
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.inventory.service import receive_stock
from omnicanal.kit.prebuilt import Prebuilt
from omnicanal.kit.writer_turn import WriterTurn, turn_file
from tests.conftest import PG_URL
from tests.factories import make_network, make_product

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's writers")
NOW = Prebuilt(select(func.datetime("now").label("now")))

_OTHER_PROCESS = """
import sys
from omnicanal.kit.writer_turn import WriterTurn
turn = WriterTurn(sys.argv[1])
for line in sys.stdin:
    command = line.strip()
    if command == "take":
        turn.take()
        print("taken", flush=True)
    elif command == "try":
        print("taken" if turn.try_take() else "refused", flush=True)
    elif command == "give back":
        turn.give_back()
        print("given back", flush=True)
    elif command == "give back and try again":
        turn.give_back()
        print("taken" if turn.try_take() else "refused", flush=True)
"""


class OtherProcess:
    """Another process of the hub, as far as the turn goes: told what to do, it answers once it has."""

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _OTHER_PROCESS, path], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.communicate(timeout=30)  # its stdin closed, it ends; its pipes are closed


@pytest.fixture
def other_process(settings) -> Iterator[OtherProcess]:
    """Another process taking turns on the test database's file."""
    path = turn_file(settings.database_url.split("///", 1)[1])
    assert path is not None
    other = OtherProcess(path)
    yield other
    other.stop()


@pytest.fixture
def holder_and_waiter(tmp_path) -> Iterator[tuple[OtherProcess, WriterTurn, threading.Event]]:
    """Another process holding the turn of a file, and this process's turn on it waited for in a thread (the event
    is set once the thread has it)."""
    path = str(tmp_path / "shop.db-writer")
    other = OtherProcess(path)
    assert other.ask("take") == "taken"
    turn = WriterTurn(path)
    assert not turn.try_take()
    taken = threading.Event()
    waiter = threading.Thread(target=lambda: (turn.take(), taken.set()))
    waiter.start()
    assert not taken.wait(0.2)  # it waits for the other process
    yield other, turn, taken
    waiter.join(timeout=30)
    other.stop()


def test_a_waiter_gets_the_turn_when_the_other_process_gives_it_back(holder_and_waiter):
    other, turn, taken = holder_and_waiter
    assert other.ask("give back") == "given back"
    assert taken.wait(30)
    assert turn.held and other.ask("try") == "refused"
    turn.give_back()
    assert other.ask("try") == "taken"


def test_a_process_giving_the_turn_back_cannot_take_it_again_before_a_process_waiting_for_it(holder_and_waiter):
    other, turn, taken = holder_and_waiter
    assert other.ask("give back and try again") == "refused"  # awake, and first to try: still the waiter's
    assert taken.wait(30)
    turn.give_back()
    assert other.ask("try") == "taken"


def test_an_in_memory_database_needs_no_turn():
    assert turn_file(":memory:") is None and turn_file("") is None
    assert turn_file("/var/lib/omnicanal/shop.db") == "/var/lib/omnicanal/shop.db-writer"


async def test_a_writer_waits_for_another_process_turn_while_reads_are_served(app, db: Database, other_process):
    assert other_process.ask("take") == "taken"
    async with db.writer() as session:
        waiting = asyncio.ensure_future(NOW.rows(session, {}))
        done, _ = await asyncio.wait({waiting}, timeout=0.2)  # it starts, and waits for the turn
        assert not done
        async with db.reader() as reading:  # the event loop is not stopped meanwhile
            assert await NOW.rows(reading, {})
        assert not waiting.done()
        assert other_process.ask("give back") == "given back"
        assert await waiting  # it ran once the turn was given back...
        assert other_process.ask("try") == "refused"  # ...and holds it while its transaction is open
        await session.commit()
        assert other_process.ask("try") == "taken"  # given back with the COMMIT
        assert other_process.ask("give back") == "given back"


async def test_a_rolled_back_transaction_gives_the_turn_back(app, db: Database, other_process):
    async with db.writer() as session:
        await NOW.rows(session, {})
        assert other_process.ask("try") == "refused"
        await session.rollback()
        assert other_process.ask("try") == "taken"
        assert other_process.ask("give back") == "given back"


async def test_two_hubs_writing_one_file_at_once_lose_nothing(app, db: Database, settings):
    """Two hubs on one file, as two workers of ``omnicanal serve`` are: 40 receipts of one unit each, half through
    each, all at once — every one lands, none is refused for a locked database, and the ledger explains the level."""
    await make_network(db)
    await make_product(db, "SKU-TURN")
    other = connect(settings)

    async def receive(hub: Database) -> None:
        async with hub.writer() as session:
            await receive_stock(session, sku="SKU-TURN", location="WH-ORL", quantity=1)
            await session.commit()

    try:
        await asyncio.gather(*(receive(hub) for _ in range(20) for hub in (db, other)))
    finally:
        await other.dispose()
    async with db.reader() as session:
        level = await session.scalar(select(StockLevel.on_hand).where(StockLevel.sku == "SKU-TURN"))
        moved = await session.scalar(select(func.sum(StockMovement.on_hand_delta))
                                     .where(StockMovement.sku == "SKU-TURN"))
    assert level == moved == 40
