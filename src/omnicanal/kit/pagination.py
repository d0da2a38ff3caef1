"""Cursor pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``; answers ``{items, next}``."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from omnicanal.kit.errors import InvalidRequest

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The cursor is not one this hub handed out.") from exc
    if not isinstance(value, list) or not value:
        raise InvalidRequest("The cursor is not one this hub handed out.")
    return value


class PageParams(BaseModel):
    limit: int
    cursor: str | None

    def after(self) -> list[Any] | None:
        return decode_cursor(self.cursor) if self.cursor else None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (max 500).")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="The `next` value of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def page_of(rows: list[T], params: PageParams, key: Any) -> Page[T]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page whose ``next`` cursor is ``key(last row)``."""
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return Page(items=rows, next=encode_cursor(*key(rows[-1])))
    return Page(items=rows, next=None)


Paging = Annotated[PageParams, Depends(page_params)]
