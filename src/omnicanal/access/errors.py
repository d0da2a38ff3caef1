from __future__ import annotations

from omnicanal.kit.errors import AlreadyExists, DomainError, NotFound, Unauthenticated


class SignInRefused(Unauthenticated):
    code = "sign-in-refused"


class SignInThrottled(DomainError):
    """Too many failed sign-ins for this e-mail or from this address: try again after ``Retry-After``."""

    status, code, title = 429, "too-many-sign-in-failures", "Too many failed sign-ins"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class UserNotFound(NotFound):
    code = "user-not-found"


class UserEmailTaken(AlreadyExists):
    code = "user-email-taken"
