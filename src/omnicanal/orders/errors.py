from __future__ import annotations

from omnicanal.kit.errors import AlreadyExists, InvalidRequest, InvalidTransition, NotFound


class OrderNotFound(NotFound):
    pass


class OrderAlreadyPlaced(AlreadyExists):
    """The channel already placed an order under this external reference; ``order`` is its id."""


class OrderNotCancellable(InvalidTransition):
    pass


class OrderTransitionRefused(InvalidTransition):
    pass


class PaymentTransitionRefused(InvalidTransition):
    pass


class FulfillmentInvalid(InvalidRequest):
    pass
