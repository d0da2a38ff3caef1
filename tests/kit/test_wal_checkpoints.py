"""A SQLite file's write-ahead log is checkpointed by a thread of the hub's process, every so many write transactions,
not by the COMMIT that fills it (``kit.wal_checkpoints``): what the writers commit reaches the database file all the
same, and a checkpoint that fails leaves the writers as they were."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from omnicanal.config import Settings
from omnicanal.db import connect
from omnicanal.kit.wal_checkpoints import EVERY, WalCheckpointer

ROWS = 2_500  # of 8 KB each: some 5,000 pages in the log, past the 1,000 at which a COMMIT would checkpoint


def rows_in_file(path: Path) -> int:
    """The rows of ``t`` in the database file itself, leaving aside what is still only in its log."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as file:
        return int(file.execute("SELECT count(*) FROM t").fetchone()[0])


def checkpointer_threads() -> int:
    return sum(thread.name == "omnicanal-wal-checkpoints" for thread in threading.enumerate())


async def test_the_log_reaches_the_file_from_the_checkpointer_not_from_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = connect(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    assert db.checkpointer is not None
    threads_before = checkpointer_threads()

    async def write(statement: str, params: list[dict[str, object]] | None = None) -> None:
        async with db.writer() as session:
            await session.execute(text(statement), params)
            await session.commit()

    try:
        await write("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")  # transaction 1
        with sqlite3.connect(path) as setup:
            setup.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table itself in the file
        assert rows_in_file(path) == 0

        await write("INSERT INTO t (body) VALUES (:body)", [{"body": bytes(8192)}] * ROWS)  # transaction 2
        assert rows_in_file(path) == 0  # committed, but only in the log: the COMMIT did not checkpoint

        for _ in range(EVERY - 3):  # transactions 3 to EVERY - 1
            await write("INSERT INTO t (body) VALUES (x'00')")
        assert db.checkpointer.checkpoints == 0
        assert rows_in_file(path) == 0

        await write("INSERT INTO t (body) VALUES (x'00')")  # transaction EVERY wakes the checkpointer
        assert db.checkpointer.wait_for(1, timeout=60)
        assert rows_in_file(path) == ROWS + EVERY - 2
        async with db.reader() as session:  # and the hub reads them all, as it always did
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS + EVERY - 2
        assert checkpointer_threads() == threads_before + 1
    finally:
        await db.dispose()
    assert checkpointer_threads() == threads_before  # disposing of the hub's engines stops its thread


def test_failing_checkpoints_are_logged_once_and_tried_again(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    checkpointer = WalCheckpointer(str(tmp_path / "no such folder" / "hub.db"), every=2)
    try:
        with caplog.at_level(logging.WARNING, logger="omnicanal.kit.wal_checkpoints"):
            checkpointer.transaction_ended()
            assert checkpointer.checkpoints == 0  # one transaction of two: not yet
            checkpointer.transaction_ended()
            assert checkpointer.wait_for(1, timeout=60)
            assert "checkpoint of" in caplog.text and "failed" in caplog.text
            for checkpoints in (2, 3):  # the thread goes on after a failure
                checkpointer.transaction_ended()
                checkpointer.transaction_ended()
                assert checkpointer.wait_for(checkpoints, timeout=60)
            assert caplog.text.count("failed") == 1  # said once, not at every checkpoint
            (tmp_path / "no such folder").mkdir()  # the folder is back: the next checkpoint works
            checkpointer.transaction_ended()
            checkpointer.transaction_ended()
            assert checkpointer.wait_for(4, timeout=60)
            assert "works again" in caplog.text
    finally:
        checkpointer.close()
