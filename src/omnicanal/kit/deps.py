"""Dependencies every router uses: the request's session and the hub's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.config import Settings


def get_request_session(request: Request) -> AsyncSession:
    """The session :class:`~omnicanal.kit.transaction.TransactionalRoute` opened for this request."""
    session: AsyncSession = request.state.session
    return session


async def get_session(request: Request) -> AsyncSession:
    """The session :class:`~omnicanal.kit.transaction.TransactionalRoute` opened for this request."""
    return get_request_session(request)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
