"""Cursor pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``; answers ``{items, next}``."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from omnicanal.kit.errors import InvalidRequest

T = TypeVar("T")
K = TypeVar("K", str, int)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
NOT_OURS = "The cursor is not one this hub handed out."
_INT64 = 2**63  # keys are BIGINT at most
_LONGEST_TEXT_KEY = 500


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
        raise InvalidRequest(NOT_OURS) from exc
    if not isinstance(value, list) or not value:
        raise InvalidRequest(NOT_OURS)
    return value


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and -_INT64 <= value < _INT64
    return type(value) is str and len(value) <= _LONGEST_TEXT_KEY and "\x00" not in value


class PageParams(BaseModel):
    limit: int
    cursor: str | None

    def after(self, *kinds: type) -> tuple[Any, ...] | None:
        """The key after which this page starts — one value of each of ``kinds`` (``str`` or ``int``) — or
        ``None`` on the first page. A cursor of another shape was forged or mangled: 422, nothing is read."""
        if not self.cursor:
            return None
        key = decode_cursor(self.cursor)
        if len(key) != len(kinds) or not all(map(_fits, key, kinds)):
            raise InvalidRequest(NOT_OURS)
        return tuple(key)

    def after_one(self, kind: type[K]) -> K | None:
        """:meth:`after` for a key of one value."""
        key = self.after(kind)
        return key[0] if key else None


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
