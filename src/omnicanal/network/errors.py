"""What can go wrong with the retailer's locations and channels."""

from __future__ import annotations

from omnicanal.kit.errors import AlreadyExists, InvalidRequest, NotFound


class LocationNotFound(NotFound):
    pass


class LocationAlreadyExists(AlreadyExists):
    pass


class ChannelNotFound(NotFound):
    pass


class ChannelAlreadyExists(AlreadyExists):
    pass


class CapabilityUnknown(InvalidRequest):
    pass
