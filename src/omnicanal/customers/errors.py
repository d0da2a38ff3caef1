"""What can go wrong with customers and their identifiers."""

from __future__ import annotations

from omnicanal.kit.errors import AlreadyExists, InvalidRequest, InvalidTransition, NotFound


class CustomerNotFound(NotFound):
    pass


class CustomerInvalid(InvalidRequest):
    pass


class IdentifierInvalid(InvalidRequest):
    pass


class IdentifierTaken(AlreadyExists):
    """The (kind, value) already belongs to another customer; ``identifier`` names it."""

    code, title = "identifier-taken", "Identifier already in use"

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"The {kind} {value} already identifies another customer.",
                         identifier={"kind": kind, "value": value})


class IdentifierNotFound(NotFound):
    pass


class IdentifierIsProfileContact(InvalidTransition):
    """The customer's profile e-mail or phone: change or clear it on the profile instead."""
