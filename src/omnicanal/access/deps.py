"""``Allow(permission)``: the dependency with which every endpoint declares what it needs.

It accepts an API key (``omk_…``), a signed-in user's session token (``oms_…``) or ``OMNICANAL_ADMIN_TOKEN``,
checks the role grants the permission, and returns the :class:`Principal` (with its scope) to the endpoint.
``AllowAt(permission)`` also confines store roles to the ``{location}`` of the path. ``Public()`` marks the
rare endpoint that needs no credentials (signing in), so that its openness is a declared decision.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Permission, Principal, require_location, role_allows
from omnicanal.access.service import KeyVerifier
from omnicanal.kit.deps import get_request_session
from omnicanal.kit.errors import Forbidden, Unauthenticated

bearer = HTTPBearer(auto_error=False, description="An API key `omk_…`, a session token `oms_…` "
                                                  "(POST /api/v1/auth/login) or OMNICANAL_ADMIN_TOKEN.")


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


def _allowing(permission: Permission, *, location_param: str | None) -> Any:
    async def allow(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        # The request's session straight from the request rather than as a dependency of its own: this runs on
        # every request, and each dependency FastAPI resolves costs about as much as a query.
        principal = await _authenticate(request, get_request_session(request), credentials)
        if not role_allows(principal.role, permission):
            raise Forbidden(f"The role '{principal.role}' does not grant '{permission}'.")
        if location_param is not None:
            require_location(principal, request.path_params.get(location_param))
        return principal

    allow.permission = permission  # type: ignore[attr-defined]  # read by the route-permission test
    return Depends(allow)


def Allow(permission: Permission) -> Any:
    """Require an authenticated caller whose role grants ``permission``; returns the :class:`Principal`."""
    return _allowing(permission, location_param=None)


def AllowAt(permission: Permission, *, path_param: str = "location") -> Any:
    """:func:`Allow`, and a store role may only reach the location named by the path's ``{location}``."""
    return _allowing(permission, location_param=path_param)


def Public() -> Any:
    """Declare that an endpoint needs no credentials (only signing in does)."""

    async def public() -> None:
        return None

    public.public = True  # type: ignore[attr-defined]  # read by the route-permission test
    return Depends(public)
