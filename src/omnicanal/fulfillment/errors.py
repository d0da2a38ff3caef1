from __future__ import annotations

from omnicanal.kit.errors import DomainError, InvalidRequest, InvalidTransition, NotFound


class PickupNotFound(NotFound):
    pass


class PickupStepRefused(InvalidTransition):
    """The step does not follow from the pickup's state (collect before ready, ready twice …)."""


class PickupCodeWrong(InvalidRequest):
    status, code, title = 422, "pickup-code-wrong", "Wrong pickup code"


class PickupCodeLocked(DomainError):
    status, code, title = 429, "pickup-code-locked", "Too many wrong pickup codes"


class PickupInvalid(InvalidRequest):
    pass


class ShipmentNotFound(NotFound):
    pass


class ShipmentInvalid(InvalidRequest):
    pass


class ShipmentRefused(InvalidTransition):
    pass
