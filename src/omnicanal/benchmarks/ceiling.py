"""The yardstick: the same order transaction and availability read as raw SQL driven by pgbench on this
machine's PostgreSQL (``pg-ceiling/ceiling.sh``). The machine is noisy, so the hub's figures are reported as a
ratio of the ceiling measured in the same run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT_PLACES = (
    Path("bench/pg-ceiling/ceiling.sh"),  # the copy kept with the benchmarks
    Path("../shared/bench/pg-ceiling/ceiling.sh"),  # the project's shared folder, beside a clone
    Path("/work/shared/bench/pg-ceiling/ceiling.sh"),
)


@dataclass(frozen=True)
class Ceiling:
    """Raw PostgreSQL transactions per second, or why it was not measured."""

    orders_per_s: float | None = None
    reads_per_s: float | None = None
    note: str | None = None
    script: str | None = None

    @property
    def measured(self) -> bool:
        return self.orders_per_s is not None and self.reads_per_s is not None

    def as_dict(self) -> dict[str, object]:
        return {"orders_per_s": self.orders_per_s, "reads_per_s": self.reads_per_s, "note": self.note,
                "script": self.script}


def find_script(explicit: Path | None = None) -> Path | None:
    """``explicit`` when given, else the first ``ceiling.sh`` found in the usual places."""
    if explicit is not None:
        return explicit if explicit.is_file() else None
    return next((place.resolve() for place in SCRIPT_PLACES if place.is_file()), None)


def measure(script: Path | None, seconds: int, postgres_problem: str | None) -> Ceiling:
    """Run the ceiling script (it takes about ``2 × seconds``) unless something it needs is missing."""
    missing = [tool for tool in ("psql", "pgbench") if shutil.which(tool) is None]
    if postgres_problem:
        return Ceiling(note=f"not measured: {postgres_problem}")
    if missing:
        return Ceiling(note=f"not measured: {', '.join(missing)} not installed (Debian: postgresql-client)")
    if script is None:
        return Ceiling(note="not measured: pg-ceiling/ceiling.sh not found (give --ceiling-script)")
    try:
        finished = subprocess.run(["bash", str(script), str(seconds)], capture_output=True, text=True,
                                  timeout=2 * seconds + 120, check=False)
    except subprocess.TimeoutExpired:
        return Ceiling(note="not measured: the ceiling script did not finish in time", script=str(script))
    return parse(finished.stdout, finished.stderr, script)


def parse(stdout: str, stderr: str, script: Path) -> Ceiling:
    line = next((line for line in reversed(stdout.splitlines()) if line.startswith("{")), None)
    try:
        figures = json.loads(line) if line else None
        return Ceiling(orders_per_s=float(figures["raw_orders_tps"]), reads_per_s=float(figures["raw_reads_tps"]),
                       script=str(script)) if figures else Ceiling(note="not measured: no figures", script=str(script))
    except (ValueError, KeyError, TypeError):
        return Ceiling(note=f"not measured: unreadable output {stdout[-300:]!r} {stderr[-300:]!r}",
                       script=str(script))
