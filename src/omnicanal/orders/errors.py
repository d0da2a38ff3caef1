from __future__ import annotations

from omnicanal.kit.errors import InvalidRequest, InvalidTransition, NotFound


class OrderNotFound(NotFound):
    pass


class OrderNotCancellable(InvalidTransition):
    pass


class OrderTransitionRefused(InvalidTransition):
    pass


class PaymentTransitionRefused(InvalidTransition):
    pass


class FulfillmentInvalid(InvalidRequest):
    pass
