"""The goals the hub is held to on a 2-core machine that also runs the load generator and PostgreSQL.

Throughput goals are a share of the raw-SQL ceiling measured in the same run, with an absolute floor that
holds even when the ceiling could not be measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORDERS_SHARE, ORDERS_FLOOR, ORDERS_P99_MS = 0.25, 300.0, 100.0
READS_SHARE, READS_FLOOR, READS_P99_MS = 0.10, 1_500.0, 20.0
MEMORY_LIMIT_MB = 300.0


@dataclass(frozen=True)
class Goal:
    scenario: str
    target: str
    measured: str
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "target": self.target, "measured": self.measured, "met": self.met}


def throughput_target(share: float, floor: float, ceiling: float | None) -> float:
    """The throughput to reach: ``share`` of the ceiling, never less than ``floor``."""
    return max(floor, share * ceiling) if ceiling else floor


def load_goals(scenario: str, throughput: float, p99_ms: float, ceiling: float | None) -> list[Goal]:
    share, floor, p99_limit = ((ORDERS_SHARE, ORDERS_FLOOR, ORDERS_P99_MS) if scenario == "orders"
                               else (READS_SHARE, READS_FLOOR, READS_P99_MS))
    target = throughput_target(share, floor, ceiling)
    described = f"≥ {target:,.0f}/s " + (f"({share:.0%} of ceiling)" if target > floor else "(floor)")
    return [
        Goal(scenario, described, f"{throughput:,.0f}/s", throughput >= target),
        Goal(scenario, f"p99 ≤ {p99_limit:.0f} ms", f"{p99_ms:.1f} ms", p99_ms <= p99_limit),
    ]


def race_goal(oversold: int, exact: bool) -> Goal:
    return Goal("race", "0 oversold", f"{oversold} oversold" + ("" if exact else " (books not exact)"),
                oversold == 0 and exact)


def memory_goal(rss_mb: float, size: str) -> Goal:
    note = "" if size == "medium" else f" (on {size} data, the goal is for medium)"
    return Goal("memory", f"< {MEMORY_LIMIT_MB:.0f} MB", f"{rss_mb:.0f} MB{note}", rss_mb < MEMORY_LIMIT_MB)
