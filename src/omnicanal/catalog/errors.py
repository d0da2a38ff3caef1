"""The catalog's refusals; each becomes a problem+json answer (404, 409 or 422)."""

from __future__ import annotations

from omnicanal.kit.errors import AlreadyExists, InvalidRequest, NotFound


class ProductNotFound(NotFound):
    """``skus`` (in the problem body) names every SKU the catalog does not know."""


class ProductAlreadyExists(AlreadyExists):
    pass


class ProductNotSellable(InvalidRequest):
    """``skus`` (in the problem body) names every inactive SKU asked for."""


class CategoryNotFound(NotFound):
    pass


class CategoryAlreadyExists(AlreadyExists):
    pass


class CategoryCycle(InvalidRequest):
    pass


class CategoryUnknown(InvalidRequest):
    """A request refers to categories that do not exist (a body field, not the URL's resource)."""


class ChannelUnknown(InvalidRequest):
    pass


class SkuUnknown(InvalidRequest):
    """A request body refers to SKUs that do not exist."""


class CurrencyMismatch(InvalidRequest):
    pass


class ChannelPriceNotFound(NotFound):
    pass


class PromotionNotFound(NotFound):
    pass


class PromotionInvalid(InvalidRequest):
    pass
