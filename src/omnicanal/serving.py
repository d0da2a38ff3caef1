"""How uvicorn serves the hub — one choice for ``omnicanal serve`` and for the benchmarks, which measure it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypedDict

logger = logging.getLogger(__name__)

# With several workers, each takes at most this many new connections when its loop finds the shared listening
# socket ready, so that the worker that is least busy — the first to wake — takes the next one.
ACCEPTS_PER_TURN = 1
# ...unless it already holds this many more open connections than another worker: it leaves the connection to that
# one, looking again every LOOK_AGAIN_S, for at most LEAVE_FOR_SIBLING_S (TakingTurnsLoop).
AHEAD_BY = 2
LOOK_AGAIN_S = 0.001
LEAVE_FOR_SIBLING_S = 0.02


class UvicornOptions(TypedDict):
    loop: str
    http: str


def uvicorn_options(workers: int = 1) -> UvicornOptions:
    """uvicorn's event loop and HTTP parser.

    asyncio's own event loop, not uvloop: libuv accepts one new connection per turn of its loop (libuv/libuv#3696),
    and a busy hub's turns are long, so a burst of new connections waited up to a second to be accepted — measured
    on SQLite orders at full load: 32 connections took 0.9 s to be accepted under uvloop, under 0.1 s under asyncio,
    whose loop accepts up to the listen backlog at once; the p99 of the orders went from 720 ms to 95–143 ms, at the
    same CPU per request (2.0–2.2 ms an order, 0.24–0.26 ms an availability read).

    With several workers sharing one listening socket, accepting everything at once hands a burst of connections to
    whichever worker wakes first: measured with 2 workers under 32 benchmark clients, 32/0, 26/6 and 21/11 splits,
    one worker saturated while the other idled. Taking one at a time still gave 26/6 and 22/10; so each worker
    takes turns and leaves the next connection to a sibling holding fewer (:class:`TakingTurnsLoop`).

    httptools parses HTTP when installed (it is, with ``uvicorn[standard]``)."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return {"loop": "asyncio" if workers == 1 else f"{__name__}:TakingTurnsLoop", "http": http}


class Siblings:
    """How many connections each worker of one ``uvicorn --workers N`` holds open: each publishes its own count in
    a file of a folder named after their parent process, the uvicorn that started them all. A count is published
    when its worker takes a connection or leaves one for a sibling, so one that has since lost connections reads
    higher than it is — never lower: a worker leaves a connection to a sibling only where it truly has fewer."""

    def __init__(self, folder: Path | None = None, me: int | None = None) -> None:
        if folder is None:
            forget_gone_servers(Path(tempfile.gettempdir()))
        self.folder = folder or Path(tempfile.gettempdir()) / f"{_FOLDER}{os.getppid()}"
        self.me = me or os.getpid()
        self.folder.mkdir(exist_ok=True)
        self._mine = self.folder / str(self.me)

    def publish(self, count: int) -> None:
        self._mine.write_text(str(count))

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections a live sibling holds (``None``: no sibling); a gone one's file is removed."""
        fewest: int | None = None
        for entry in os.scandir(self.folder):
            if entry.name == self._mine.name or not entry.name.isdigit():
                continue
            if not _alive(int(entry.name)):
                Path(entry.path).unlink(missing_ok=True)
                continue
            try:
                count = int(Path(entry.path).read_text())
            except (OSError, ValueError):  # gone, or being written: no count to weigh
                continue
            fewest = count if fewest is None else min(fewest, count)
        return fewest

    def leave(self) -> None:
        self._mine.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # a sibling is still there
            self.folder.rmdir()


_FOLDER = "omnicanal-workers-"


def forget_gone_servers(temporary: Path) -> None:
    """Remove the folders of uvicorns no longer running: a worker stopped by a signal (uvicorn re-raises the
    SIGTERM it caught once its server has shut down) leaves its count behind."""
    for entry in os.scandir(temporary):
        pid = entry.name.removeprefix(_FOLDER)
        if entry.name.startswith(_FOLDER) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class TakingTurnsLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, for one of several workers sharing a listening socket: every worker's loop is woken by a new
    connection, and each takes :data:`ACCEPTS_PER_TURN` at a time rather than all that wait — an idle one wakes at
    once and takes it, a busy one only after its turn. A worker already holding :data:`AHEAD_BY` more connections
    than a sibling (:class:`Siblings`) leaves the next one to it, looking again every :data:`LOOK_AGAIN_S` for at
    most :data:`LEAVE_FOR_SIBLING_S` (a sibling busy or gone: it takes it itself). Keep-alive connections stay
    where they were accepted, and the workers share the load only as they share the connections."""

    def __init__(self, selector: Any = None, *, siblings: Siblings | None = None,
                 leave_for_sibling_s: float = LEAVE_FOR_SIBLING_S) -> None:
        super().__init__(selector)
        self._siblings = siblings
        self._alone = False  # cannot share its count (no temporary folder to write in)
        self._leave_for_sibling_s = leave_for_sibling_s
        self._leaving_since: float | None = None

    def _accept_connection(self, protocol_factory: Any, sock: Any, sslcontext: Any = None, server: Any = None,
                           backlog: int = 100, *args: Any) -> None:
        if server is not None and self._leaves_it_to_a_sibling(server._active_count):
            self._remove_reader(sock.fileno())  # type: ignore[attr-defined]
            self.call_later(LOOK_AGAIN_S, self._look_again, protocol_factory, sock, sslcontext, server, backlog, *args)
            return
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, min(backlog, ACCEPTS_PER_TURN), *args)

    def _leaves_it_to_a_sibling(self, mine: int) -> bool:
        try:
            return self._weigh(mine)
        except OSError as exc:  # no temporary folder to share: each worker takes what it finds, as asyncio would
            logger.warning("Workers cannot share their connection counts (%s): each takes what it finds.", exc)
            self._alone = True
            return False

    def _weigh(self, mine: int) -> bool:
        if self._alone:
            return False
        if self._siblings is None:
            self._siblings = Siblings()
        fewest = self._siblings.fewest_elsewhere()
        now = self.time()
        if fewest is not None and mine >= fewest + AHEAD_BY:
            self._leaving_since = self._leaving_since or now
            if now - self._leaving_since < self._leave_for_sibling_s:
                self._siblings.publish(mine)
                return True
        self._leaving_since = None
        self._siblings.publish(mine + ACCEPTS_PER_TURN)  # what it holds once it has taken the connection
        return False

    def _look_again(self, protocol_factory: Any, sock: Any, sslcontext: Any, server: Any, *args: Any) -> None:
        if server.is_serving():
            self._start_serving(protocol_factory, sock, sslcontext, server, *args)  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._siblings is not None:
            with contextlib.suppress(OSError):
                self._siblings.leave()
        super().close()
