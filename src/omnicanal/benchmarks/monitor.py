"""Where the machine's CPU went during a scenario (hub, PostgreSQL, load generator, all) and the hub's peak memory.

On a 2-core machine that also runs the load generator, these say what limits throughput: a hub using about
one core per worker is CPU-bound in Python; an idle hub with a busy database waits on the database.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil

from omnicanal.benchmarks.server import HubServer

SAMPLE_EVERY = 0.25


POSTGRES_HELPERS = ("walwriter", "checkpointer", "background writer")


def _postgres_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds per PostgreSQL process serving ``database`` (its backends, whose title names it) or writing
    the WAL and pages for everyone — not the backends of other databases on the same server."""
    if database is None:
        return {}
    found = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(proc.info.get("cmdline") or [])
        if proc.info.get("name") != "postgres" or not (
                f" {database} " in title or any(helper in title for helper in POSTGRES_HELPERS)):
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            found[proc.pid] = times.user + times.system
    return found


def _own_cpu() -> tuple[float, float]:
    """This process's CPU seconds (the Python load generator) and its finished children's (wrk, pgbench)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    hub: float
    postgres: dict[int, float]
    bench: float
    bench_children: float
    machine: float

    @classmethod
    def take(cls, server: HubServer, postgres_database: str | None = None) -> CpuSnapshot:
        own, children = _own_cpu()
        return cls(time.monotonic(), server.cpu_seconds(), _postgres_cpu(postgres_database), own, children,
                   _machine_busy())

    def cores_until(self, later: CpuSnapshot) -> dict[str, Any]:
        """Average cores busy between two snapshots, per consumer."""
        wall = max(later.wall - self.wall, 1e-9)
        return {
            "hub": round((later.hub - self.hub) / wall, 2),
            "postgres": round(sum(cpu - self.postgres.get(pid, 0.0) for pid, cpu in later.postgres.items()) / wall,
                              2),
            "load_generator": round((later.bench - self.bench + later.bench_children - self.bench_children) / wall,
                                    2),
            "machine": round((later.machine - self.machine) / wall, 2),
            "machine_cores": psutil.cpu_count() or 0,
        }


class MemoryWatch:
    """Samples the hub's resident memory in a background thread; ``peak`` is the highest seen."""

    def __init__(self, server: HubServer) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-memory-watch", daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def sample(self) -> None:
        self.peak = max(self.peak, self.server.rss_bytes())

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.sample()
