"""Checkpointing a SQLite database's write-ahead log in a thread of its own, not inside a writer's COMMIT.

Under WAL, the transaction whose COMMIT brings the log to a thousand pages copies the log into the database file
and syncs both to disk (SQLite's automatic checkpoint) before its ``execute("COMMIT")`` returns. In the hub that
COMMIT runs in the event loop's thread and holds the writers' turn (``kit.writer_turn``): the worker answers no one
and no other process writes until the disk has synced. Measured on a machine whose disk syncs slowly: a checkpoint
of some 130 pages took 27 ms of wall time for 2.5 ms of CPU, and an order's COMMIT averaged 0.48 ms of wall time
for 0.24 ms of CPU; the same orders with the checkpoints done elsewhere took 0.21 ms for 0.21 ms.

So the hub's writer connections checkpoint only as a backstop (``BACKSTOP_PAGES``), and each process's
:class:`WalCheckpointer` does it: every ``EVERY`` write transactions of its own it wakes a thread that runs
``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own. A passive checkpoint takes neither the write lock nor
the writers' turn and waits for no reader or writer: writers go on appending to the log meanwhile, and SQLite
starts the log over once a checkpoint has copied all of it. Two processes checkpointing at once is harmless: the
second finds the checkpoint lock taken and skips its turn.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

EVERY = 40  # write transactions of a process between two of its checkpoints (an order writes about ten pages)
BACKSTOP_PAGES = 10_000  # a writer's COMMIT still checkpoints a log this long (40 MB) — a bulk import, say


class WalCheckpointer:
    """Checkpoints the WAL of the SQLite file at ``path`` in a daemon thread, woken every ``every`` calls of
    :meth:`transaction_ended` (from any thread). A wake-up while a checkpoint is due or running is not counted twice:
    the next checkpoint covers everything committed before it starts."""

    def __init__(self, path: str, *, every: int = EVERY) -> None:
        self.path = path
        self.every = every
        self._ended = itertools.count(1)  # next() is atomic under the GIL: safe from any thread
        self._due = threading.Event()
        self._done = threading.Condition()
        self._checkpoints = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def checkpoints(self) -> int:
        """How many checkpoints have been tried (found the checkpoint lock free or not, failed or not)."""
        return self._checkpoints

    def transaction_ended(self) -> None:
        """A write transaction of this process ended (committed or rolled back)."""
        if next(self._ended) % self.every == 0 and not self._closing:
            self._start()
            self._due.set()

    def wait_for(self, checkpoints: int, timeout: float) -> bool:
        """Wait until ``checkpoints`` checkpoints have run; ``False`` if ``timeout`` seconds passed first."""
        with self._done:
            return self._done.wait_for(lambda: self._checkpoints >= checkpoints, timeout)

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running) and close its connection."""
        self._closing = True
        self._due.set()
        if self._thread is not None:
            self._thread.join()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="omnicanal-wal-checkpoints", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        failing = False  # logged when checkpoints start failing and when they work again, not at every one
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._closing:
                    return
                try:
                    if connection is None:
                        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                        connection.execute("PRAGMA synchronous=NORMAL")  # sync the log, then the file, as writers do
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the writers' backstop checkpoints the log meanwhile
                    if not failing:
                        logger.warning("checkpoint of %s failed; until one works, the writers checkpoint the log "
                                       "past %d pages", self.path, BACKSTOP_PAGES, exc_info=True)
                    failing = True
                else:
                    if failing:
                        logger.warning("checkpoint of %s works again", self.path)
                    failing = False
                with self._done:
                    self._checkpoints += 1
                    self._done.notify_all()
        finally:
            if connection is not None:
                connection.close()
