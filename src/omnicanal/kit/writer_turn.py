"""Whose turn it is to write a SQLite database, across the hub's processes.

SQLite lets one connection write at a time. A connection that finds the write lock taken by another process waits
in SQLite's busy handler, which sleeps and tries again (1, 2, 5, 10, 15, 20, 25 … ms): between its tries the lock is
often free and unused, and a process that comes later may take it first. Under several workers of the hub serving
orders, that left the writer idle a third of the time and stretched the p99 past 150 ms.

So the hub's writers take turns on an advisory lock first — ``flock`` on a file beside the database — which wakes
the next waiter the moment it is released, in the kernel, without polling. They take it just before ``BEGIN
IMMEDIATE`` and give it back when the connection goes back to its pool, after COMMIT or ROLLBACK. Another program
writing the database (the ``sqlite3`` shell) does not take it: the busy handler still waits for that one.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref


class WriterTurn:
    """An exclusive ``flock`` on ``path`` held by at most one of this process's writer connections (the writer's
    pool holds one); :meth:`take` may run in aiosqlite's thread, :meth:`give_back` in the event loop's.

    A process waiting for the turn first holds a second lock, ``path + "-queue"``, so that the process giving the
    turn back cannot take it again at once — it would, being awake, before the waiter's thread runs: it has to
    queue behind the waiter (:meth:`try_take` refuses while anyone queues)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._files: tuple[int, int] | None = None  # the queue's and the turn's, opened (created) when first used
        self._held = threading.Event()

    def _queue_and_turn(self) -> tuple[int, int]:
        if self._files is None:
            queue, turn = (os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                           for name in (self.path + "-queue", self.path))
            for descriptor in (queue, turn):
                weakref.finalize(self, os.close, descriptor)  # a flock goes with its file
            self._files = queue, turn
        return self._files

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def try_take(self) -> bool:
        """Take the turn if no other process holds it or waits for it; ``False`` at once otherwise."""
        if not self.held:
            queue, turn = self._queue_and_turn()
            if not _lock(queue, wait=False):
                return False
            try:
                if not _lock(turn, wait=False):
                    return False
            finally:
                fcntl.flock(queue, fcntl.LOCK_UN)
            self._held.set()
        return True

    def take(self) -> None:
        """Wait for the turn, first in the queue (blocks the calling thread: never call it in the event loop's)."""
        if not self.held:
            queue, turn = self._queue_and_turn()
            _lock(queue, wait=True)
            try:
                _lock(turn, wait=True)
            finally:
                fcntl.flock(queue, fcntl.LOCK_UN)
            self._held.set()

    def give_back(self) -> None:
        if self.held:
            self._held.clear()
            fcntl.flock(self._queue_and_turn()[1], fcntl.LOCK_UN)


def _lock(descriptor: int, *, wait: bool) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def turn_file(database: str) -> str | None:
    """The lock file for a SQLite database file (``None`` for an in-memory database, which one process owns)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return f"{database}-writer"
