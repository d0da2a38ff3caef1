"""Domain exceptions and their RFC 9457 problem+json rendering.

Every domain raises subclasses of :class:`DomainError`; the handlers installed by :func:`install_problem_handlers`
turn them (and validation errors, and anything unforeseen) into ``application/problem+json`` answers.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("omnicanal")


class DomainError(Exception):
    """A rule of the retailer was broken; ``status`` and ``code`` say how, ``detail`` says it in words."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        if code is not None:
            self.code = code


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class AlreadyExists(DomainError):
    status, code, title = 409, "already-exists", "Already exists"


class InvalidTransition(DomainError):
    status, code, title = 409, "invalid-transition", "Not allowed in the current state"


class InvalidRequest(DomainError):
    status, code, title = 422, "invalid-request", "Invalid request"


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


def problem(status: int, code: str, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://omnicanal.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(request: Request, exc: DomainError) -> JSONResponse:
    """The answer to a broken rule of the retailer."""
    response = problem(exc.status, exc.code, exc.title, exc.detail, request, **exc.extra)
    response.headers.update(getattr(exc, "headers", {}))  # e.g. Retry-After on a 429
    return response


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body",))


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        return problem(422, "validation-error", "Invalid request", summary, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail), request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        return problem(409, "conflict", "Conflict", "The change conflicts with existing data.", request)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL byte in a text, a number beyond its column): the caller's input.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "a value out of range"
        return problem(422, "invalid-request", "Invalid request", f"The database refused a value: {reason}.",
                       request)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        log.exception("database error on %s", request.url.path)
        return problem(503, "database-unavailable", "Service unavailable",
                       "The database could not complete the request; retry later.", request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(500, "internal-error", "Internal error", "An unexpected error occurred.", request)


# --- the error answers in the OpenAPI document ----------------------------------------------------------------
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details. Some problems add members of their own: `shortages` (the lines "
                   "lacking stock), `order` (an order already placed), `errors` (each invalid field) …",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": ["https://omnicanal.dev/problems/not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for a person to read."},
        "instance": {"type": "string", "description": "The request's path."},
        "errors": {"type": "array", "items": {
            "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                                             "type": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
_WHY = {
    "400": "The body is not valid JSON.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "The caller's role or scope (stores, channel) does not allow this.",
    "404": "Something the request names does not exist.",
    "409": "The request conflicts with the current state (stock, an order's status, an existing record).",
    "422": "Invalid input — a field, a parameter or a rule of the domain; nothing was changed.",
    "503": "The database could not complete the request; retry later.",
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Give every operation of an OpenAPI document the error answers the hub gives, as they are given:
    ``application/problem+json`` (FastAPI documents only its own 422, as ``application/json``)."""
    problem_content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            codes = ["404", "422", "503"]
            codes += ["401", "403"] if operation.get("security") else []
            codes += ["400"] if "requestBody" in operation else []
            codes += ["409"] if method in ("post", "put", "patch", "delete") else []
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": _WHY[code]})
            responses["422"]["description"] = _WHY["422"]  # not FastAPI's "Validation Error"
            for code, response in responses.items():
                if code[0] in "45":  # those an endpoint declares itself (a 409's reasons, a 429) keep their words
                    response["content"] = problem_content
            operation["responses"] = dict(sorted(responses.items()))
    return schema
