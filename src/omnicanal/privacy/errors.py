"""What can go wrong with consents and data subjects' requests."""

from __future__ import annotations

from omnicanal.kit.errors import InvalidRequest, InvalidTransition


class ConsentInvalid(InvalidRequest):
    pass


class ErasureRefused(InvalidTransition):
    """The customer still has orders in progress: their data is needed to fulfil them."""

    code, title = "erasure-refused", "Erasure not possible yet"
