"""API keys, console users and signing in: three routers, listed in ``routers`` for ``omnicanal.app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from omnicanal.access import service, signin, users
from omnicanal.access.deps import Allow, Public
from omnicanal.access.models import ApiKey, User
from omnicanal.access.rules import ROLE_PERMISSIONS, Permission, Principal, Role
from omnicanal.access.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    IssuedKeyOut,
    MeOut,
    SessionOut,
    SignInIn,
    UserIn,
    UserOut,
    UserPatch,
)
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute

ADMIN = Allow(Permission.ADMIN)
keys = APIRouter(prefix="/api/v1/api-keys", tags=["access"], route_class=TransactionalRoute, dependencies=[ADMIN])
people = APIRouter(prefix="/api/v1/users", tags=["access"], route_class=TransactionalRoute, dependencies=[ADMIN])
auth = APIRouter(prefix="/api/v1/auth", tags=["access"], route_class=TransactionalRoute)


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=key.id, name=key.name, role=Role(key.role), locations=list(key.locations or []),
                     channel=key.channel, created_at=key.created_at, revoked_at=key.revoked_at)


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, role=Role(user.role),
                   locations=list(user.locations or []), channel=user.channel, active=user.active,
                   created_at=user.created_at, last_login_at=user.last_login_at)


# --- API keys -----------------------------------------------------------------------------------------------
@keys.post("", response_model=IssuedKeyOut, status_code=201)
async def create_api_key(session: SessionDep, body: ApiKeyIn) -> IssuedKeyOut:
    """Issue a key for an integration (scoped to its channel) or a store system (scoped to its stores);
    the token is shown only in this answer."""
    await service.check_scope(session, body.role, body.locations, body.channel)
    issued = await service.create_api_key(session, name=body.name, role=body.role, locations=body.locations,
                                          channel=body.channel)
    return IssuedKeyOut(**_key_out(issued.key).model_dump(), token=issued.token)


@keys.get("", response_model=Page[ApiKeyOut])
async def list_api_keys(session: SessionDep, paging: Paging) -> Page[ApiKeyOut]:
    rows = await service.list_api_keys(session, after_id=paging.after_one(str), limit=paging.limit + 1)
    return page_of([_key_out(k) for k in rows], paging, lambda out: (out.id,))


@keys.delete("/{key_id}", status_code=204)
async def revoke_api_key(session: SessionDep, request: Request, key_id: str) -> Response:
    await service.revoke_api_key(session, key_id=key_id)
    request.app.state.key_verifier.forget(key_id)
    return Response(status_code=204)


# --- users --------------------------------------------------------------------------------------------------
@people.post("", response_model=UserOut, status_code=201)
async def create_user(session: SessionDep, body: UserIn, response: Response) -> UserOut:
    """Create a console user; store roles need the store(s) they work in."""
    user = await users.create_user(session, email=body.email, name=body.name, role=body.role,
                                   password=body.password.get_secret_value(), locations=body.locations,
                                   channel=body.channel)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return user_out(user)


@people.get("", response_model=Page[UserOut])
async def list_users(session: SessionDep, paging: Paging, active: bool | None = None,
                     role: Role | None = None) -> Page[UserOut]:
    rows = await users.list_users(session, after_id=paging.after_one(str), limit=paging.limit + 1, active=active,
                                  role=role)
    return page_of([user_out(u) for u in rows], paging, lambda out: (out.id,))


@people.get("/{user_id}", response_model=UserOut)
async def get_user(session: SessionDep, user_id: str) -> UserOut:
    return user_out(await users.get_user(session, user_id))


@people.patch("/{user_id}", response_model=UserOut)
async def update_user(session: SessionDep, request: Request, user_id: str, body: UserPatch) -> UserOut:
    """Change a user; a new role, scope or password, or a deactivation, signs them out everywhere."""
    fields = body.model_dump(exclude_unset=True)
    password = body.password.get_secret_value() if body.password else None
    user = await users.update_user(session, user_id=user_id, changes=users.UserChanges(
        **{k: v for k, v in fields.items() if k != "password" and v is not None}, password=password))
    request.app.state.key_verifier.forget(user_id)
    return user_out(user)


@people.post("/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(session: SessionDep, request: Request, user_id: str) -> UserOut:
    """The user can no longer sign in; their open sessions end at once."""
    user = await users.deactivate_user(session, user_id=user_id)
    request.app.state.key_verifier.forget(user_id)
    return user_out(user)


# --- signing in ---------------------------------------------------------------------------------------------
@auth.post("/login", response_model=SessionOut, dependencies=[Public()],
           responses={401: {"description": "Wrong e-mail or password (the failure is counted)."},
                      429: {"description": "Too many failures for this e-mail or address; see Retry-After."}})
async def sign_in(session: SessionDep, settings: SettingsDep, request: Request, body: SignInIn) -> SessionOut:
    """Exchange a user's e-mail and password for a bearer token valid ``OMNICANAL_SESSION_HOURS``."""
    client = request.client.host if request.client else "unknown"
    signed = await signin.sign_in(session, email=body.email, password=body.password.get_secret_value(),
                                  client=client, settings=settings)
    return SessionOut(token=signed.token, expires_at=signed.expires_at, user=user_out(signed.user))


@auth.post("/logout", status_code=204)
async def sign_out(session: SessionDep, request: Request,
                   principal: Annotated[Principal, Allow(Permission.SELF)]) -> Response:
    """End this session token now."""
    await signin.sign_out(session, session_id=principal.session_id)
    request.app.state.key_verifier.forget(principal.session_id or principal.key_id)
    return Response(status_code=204)


@auth.get("/me", response_model=MeOut)
async def who_am_i(principal: Annotated[Principal, Allow(Permission.SELF)]) -> MeOut:
    """Who this token speaks for, with their role, scope and permissions."""
    return MeOut(id=principal.key_id, kind=principal.kind, name=principal.name, role=principal.role,
                 locations=list(principal.locations), channel=principal.channel,
                 permissions=sorted(ROLE_PERMISSIONS[principal.role]), expires_at=principal.expires_at)


routers = [keys, people, auth]
