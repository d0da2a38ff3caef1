"""The returns' refusals; each becomes a problem+json answer (404, 409 or 422)."""

from __future__ import annotations

from typing import Any

from omnicanal.kit.errors import InvalidRequest, InvalidTransition, NotFound


class ReturnNotFound(NotFound):
    pass


class ReturnTransitionRefused(InvalidTransition):
    pass


class OrderNotReturnable(InvalidTransition):
    """The order's goods are not (yet) in the customer's hands."""


class ReturnExceedsPurchase(InvalidTransition):
    """More units than were bought less those already returned; ``excess`` names the lines."""

    code = "return-exceeds-purchase"

    def __init__(self, detail: str, excess: list[dict[str, Any]]) -> None:
        super().__init__(detail, excess=excess)


class ReturnLinesUnknown(InvalidRequest):
    """Lines that are not on the order; ``unknown`` names them."""

    def __init__(self, detail: str, unknown: list[dict[str, Any]]) -> None:
        super().__init__(detail, unknown=unknown)


class ReturnLocationInvalid(InvalidRequest):
    pass
