"""``Allow(permission)``: the dependency with which every endpoint declares what it needs.

It accepts an API key (``omk_…``), a signed-in user's session token (``oms_…``) or ``OMNICANAL_ADMIN_TOKEN``,
checks the role grants the permission, and returns the :class:`Principal` (with its scope) to the endpoint.
``AllowAt(permission)`` also confines store roles to the ``{location}`` of the path. ``Public()`` marks the
rare endpoint that needs no credentials (signing in), so that its openness is a declared decision.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Permission, Principal, require_location, role_allows
from omnicanal.access.service import KeyVerifier
from omnicanal.kit.deps import get_request_session
from omnicanal.kit.errors import Forbidden, Unauthenticated

BEARER = "An API key `omk_…`, a session token `oms_…` (POST /api/v1/auth/login) or OMNICANAL_ADMIN_TOKEN."


async def _authenticate(request: Request, session: AsyncSession,
                        credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None:
        raise Unauthenticated("Send an API key or a session token as 'Authorization: Bearer <token>'.")
    verifier: KeyVerifier = request.app.state.key_verifier
    principal = await verifier.verify(session, credentials.credentials)
    if principal is None:
        raise Unauthenticated("This token is unknown, revoked or expired.")
    request.state.principal = principal
    return principal


class _Allowing(HTTPBearer):
    """The dependency is the bearer scheme itself — OpenAPI shows it, and FastAPI resolves one dependency a
    request instead of two (each costs about as much as a query)."""

    def __init__(self, permission: Permission, *, location_param: str | None) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer", description=BEARER)
        self.permission = permission  # read by the route-permission test
        self.location_param = location_param

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        # The request's session straight from the request rather than as a dependency of its own, likewise.
        principal = await _authenticate(request, get_request_session(request), await super().__call__(request))
        if not role_allows(principal.role, self.permission):
            raise Forbidden(f"The role '{principal.role}' does not grant '{self.permission}'.")
        if self.location_param is not None:
            require_location(principal, request.path_params.get(self.location_param))
        return principal


def Allow(permission: Permission) -> Any:
    """Require an authenticated caller whose role grants ``permission``; returns the :class:`Principal`."""
    return Depends(_Allowing(permission, location_param=None))


def AllowAt(permission: Permission, *, path_param: str = "location") -> Any:
    """:func:`Allow`, and a store role may only reach the location named by the path's ``{location}``."""
    return Depends(_Allowing(permission, location_param=path_param))


def Public() -> Any:
    """Declare that an endpoint needs no credentials (only signing in does)."""

    async def public() -> None:
        return None

    public.public = True  # type: ignore[attr-defined]  # read by the route-permission test
    return Depends(public)
