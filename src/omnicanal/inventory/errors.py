from __future__ import annotations

from typing import Any

from omnicanal.kit.errors import DomainError, InvalidTransition, NotFound


class StockInsufficient(DomainError):
    """Not enough stock to promise; ``shortages`` names each line that lacks it."""

    status, code, title = 409, "stock-insufficient", "Not enough stock"

    def __init__(self, detail: str, shortages: list[dict[str, Any]]) -> None:
        super().__init__(detail, shortages=shortages)
        self.shortages = shortages


class StockLevelNotFound(NotFound):
    pass


class ReservationNotFound(NotFound):
    pass


class ReservationClosed(InvalidTransition):
    pass


class TransferNotFound(NotFound):
    pass
