from __future__ import annotations

from omnicanal.kit.errors import DomainError, InvalidRequest, InvalidTransition


class CapacityExhausted(DomainError):
    """Every location that could send the order has routed all the orders it can take today."""

    status, code, title = 409, "capacity-exhausted", "No shipping capacity left today"


class RejectionRefused(InvalidTransition):
    """The order cannot be rejected by that location now (not routed there, not waiting to ship)."""


class RejectionInvalid(InvalidRequest):
    """The rejection's lines or figures do not match the order or the reason."""


class BatchRefused(InvalidTransition):
    pass
