"""The try-ons' refusals; each becomes a problem+json answer (404, 409 or 422)."""

from __future__ import annotations

from typing import Any

from omnicanal.kit.errors import InvalidRequest, InvalidTransition, NotFound


class TryOnNotFound(NotFound):
    pass


class TryOnNotOffered(InvalidRequest):
    """The store does not offer try-ons (not configured, disabled, or not a store that sells)."""


class TryOnSlotInvalid(InvalidRequest):
    """Not a slot of that store, already started, or beyond the booking horizon."""


class TryOnSlotFull(InvalidTransition):
    status, code, title = 409, "slot-full", "The slot is full"


class TryOnTransitionRefused(InvalidTransition):
    pass


class TryOnLapsed(InvalidTransition):
    """The hold ran out: the articles are (or are about to be) back on sale."""

    code = "try-on-lapsed"


class TryOnPurchaseInvalid(InvalidRequest):
    """Articles not held for this try-on, or more than held; ``lines`` names them."""

    def __init__(self, detail: str, lines: list[dict[str, Any]]) -> None:
        super().__init__(detail, lines=lines)
