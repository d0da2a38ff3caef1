"""The load generator: ``wrk`` when installed (cheap in CPU, which matters when it shares the machine with the
hub and the database), else an asyncio client on aiohttp. Both drive a fixed number of connections for a
fixed time and answer the same :class:`~omnicanal.benchmarks.traffic.LoadResult`.
"""

from __future__ import annotations

import asyncio
import shutil

from omnicanal.benchmarks import wrk
from omnicanal.benchmarks.pyclient import python_load
from omnicanal.benchmarks.traffic import LoadResult, Traffic


def pick_generator(requested: str) -> str:
    """``auto`` means wrk when it is on the PATH, else the Python client."""
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk); use --generator python")
    return requested


def run_load(generator: str, base_url: str, traffic: Traffic, *, clients: int, seconds: float,
             run_id: str) -> LoadResult:
    """Drive ``traffic`` at ``base_url`` with ``clients`` connections for ``seconds``."""
    if generator == "wrk":
        return wrk.run(base_url, traffic, clients=clients, seconds=seconds, run_id=run_id)
    return asyncio.run(python_load(base_url, traffic, clients=clients, seconds=seconds, run_id=run_id))
