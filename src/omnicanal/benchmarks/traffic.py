"""What a load generator sends (:class:`Traffic`) and what it measured (:class:`LoadResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Traffic:
    """What every client sends: one of ``requests`` (path, body) at random, with these headers; with
    ``unique_keys`` every request carries its own ``Idempotency-Key``."""

    method: str
    requests: list[tuple[str, str | None]]
    headers: dict[str, str]
    unique_keys: bool = False
    success: int = 200


@dataclass
class LoadResult:
    """What came back during one timed run."""

    generator: str
    clients: int
    seconds: float
    success: int
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())

    @property
    def succeeded(self) -> int:
        return self.statuses.get(self.success, 0)

    @property
    def throughput(self) -> float:
        """Successful answers per second."""
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator, "clients": self.clients, "seconds": round(self.seconds, 3),
            "responses": self.responses, "succeeded": self.succeeded, "throughput_per_s": round(self.throughput, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())}, "errors": self.errors,
            "latency_ms": {"p50": round(self.p50_ms, 2), "p90": round(self.p90_ms, 2), "p99": round(self.p99_ms, 2),
                           "mean": round(self.mean_ms, 2), "max": round(self.max_ms, 2)},
        }


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
