"""The one error renderer of the API: every error answer, whatever raised it, is an RFC 9457
problem-details body (``application/problem+json``)::

    {"type": "urn:fewshot:problem:not_found", "title": "Not Found", "status": 404,
     "code": "not_found", "detail": "unknown pool 'x'", "errors": []}

``detail`` is always one human-readable string; ``code`` a stable machine-readable name (see
`CODES`); ``errors`` lists the fields at fault (``loc``: the path of the field, ``msg``) for
request validation errors. A rejected label import adds ``problems`` (one per item). The input a
caller sent is never echoed (so NaN, Infinity or a lone surrogate cannot break the renderer), and
an unexpected error is a bare 500 that never carries a stack trace.

==========================  ======  ====================
exception                   status  code
==========================  ======  ====================
request validation          422     validation_error
CorruptArtifactError        409     corrupt_artifact
InvalidInputError           422     invalid_input (IngestError, LabelImportError with its problems)
NotFoundError               404     not_found
ConflictError               409     conflict
LMBackendError              502     lm_backend
MissingDependencyError      501     missing_dependency
any other FewshotError      400     bad_request
HTTPException               its     unauthorized (401), forbidden (403), not_found (404),
                                    method_not_allowed (405, with ``Allow``),
                                    payload_too_large (413), bad_request (400: unparsable body)
anything else               500     internal
==========================  ======  ====================

`PROBLEM_RESPONSES` documents these answers in the OpenAPI document (see `problem_responses`).
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..exceptions import (
    ConflictError,
    CorruptArtifactError,
    FewshotError,
    InvalidInputError,
    LMBackendError,
    MissingDependencyError,
    NotFoundError,
)
from ..service.labels import LabelImportError

__all__ = [
    "STATUS_CODES",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "Problem",
    "ProblemField",
    "status_code",
    "error_code",
    "error_body",
    "problem",
    "problem_response",
    "problem_responses",
    "install_error_handlers",
]

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: The ``type`` URI of a problem is this prefix plus its code.
TYPE_PREFIX = "urn:fewshot:problem:"

#: Checked in order; the first class the error is an instance of gives the status and code.
STATUS_CODES: tuple[tuple[type[FewshotError], int, str], ...] = (
    (CorruptArtifactError, 409, "corrupt_artifact"),
    (InvalidInputError, 422, "invalid_input"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (LMBackendError, 502, "lm_backend"),
    (MissingDependencyError, 501, "missing_dependency"),
)
#: The status and code of a `FewshotError` none of `STATUS_CODES` covers.
DEFAULT_STATUS, DEFAULT_CODE = 400, "bad_request"

#: The code of an `HTTPException` by status.
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    500: "internal",
    501: "missing_dependency",
    502: "lm_backend",
    503: "unavailable",
}


class ProblemField(BaseModel):
    """One field at fault: its path (``["body", "k"]``) and what is wrong with it."""

    loc: list[str | int] = Field(description="Path of the field: where (body, query, path, header), then keys.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A stable name of the kind of error (e.g. ``int_parsing``).")


class Problem(BaseModel):
    """An RFC 9457 problem-details body: every error answer of the API."""

    type: str = Field(description="A URI naming the kind of problem: ``urn:fewshot:problem:<code>``.")
    title: str = Field(description="The status's reason phrase.")
    status: int = Field(description="The HTTP status code.")
    code: str = Field(
        description="Stable machine-readable code: invalid_input, validation_error, not_found, conflict, "
        "corrupt_artifact, lm_backend, missing_dependency, unauthorized, forbidden, method_not_allowed, "
        "payload_too_large, bad_request, internal."
    )
    detail: str = Field(description="What went wrong, for a human.")
    errors: list[ProblemField] = Field(default_factory=list, description="The fields at fault (validation).")
    problems: list[dict[str, Any]] | None = Field(
        None, description="A rejected label import: one entry per label that cannot be applied."
    )


def status_code(exc: FewshotError) -> int:
    """The HTTP status of a fewshot error."""
    return next((status for cls, status, _ in STATUS_CODES if isinstance(exc, cls)), DEFAULT_STATUS)


def error_code(exc: FewshotError) -> str:
    """The problem code of a fewshot error."""
    return next((code for cls, _, code in STATUS_CODES if isinstance(exc, cls)), DEFAULT_CODE)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(
    status: int, code: str, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A problem-details body."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": _title(status),
        "status": status,
        "code": code,
        "detail": detail,
        "errors": errors or [],
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def error_body(exc: FewshotError) -> dict[str, Any]:
    """The problem body of a fewshot error; a label import's first line plus its ``problems``."""
    if isinstance(exc, LabelImportError):
        problems = [_safe(p.__dict__) for p in exc.report.problems]
        return problem(422, error_code(exc), str(exc).splitlines()[0], problems=problems)
    return problem(status_code(exc), error_code(exc), str(exc))


def _safe(value: Any) -> Any:
    """``value`` with every float that JSON cannot carry (NaN, Infinity) replaced by its repr and
    every other non-JSON leaf by its ``str``."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return str(value)


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """Render a problem body. ASCII-escaped JSON, so a lone surrogate in a message is ``\\ud800``
    (valid JSON) instead of an encoding error; non-finite floats never reach it (`_safe`)."""
    try:
        content = json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        content = json.dumps(_safe(body), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return Response(content, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """``loc``/``msg``/``type`` of each validation error; the offending input is never echoed."""
    fields = []
    for err in exc.errors():
        loc = [part if isinstance(part, int) and not isinstance(part, bool) else str(part) for part in err["loc"]]
        fields.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return fields


def _validation_detail(fields: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{'.'.join(map(str, f['loc']))}: {f['msg']}" for f in fields[:5])
    more = f"; and {len(fields) - 5} more" if len(fields) > 5 else ""
    return f"invalid request: {shown}{more}" if shown else "invalid request"


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = _field_errors(exc)
    return problem_response(problem(422, "validation_error", _validation_detail(fields), errors=fields))


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app fully serves at the request's path (for ``Allow``)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    detail = exc.detail if isinstance(exc.detail, str) else _title(status)
    if status == 400 and "pars" in detail.lower():
        detail = "the request body is not valid JSON"
    code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal")
    return problem_response(problem(status, code, detail), headers=headers or None)


async def _fewshot_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FewshotError)
    return problem_response(error_body(exc))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(problem(500, "internal", "internal server error"))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem details: fewshot errors by `STATUS_CODES`, request validation
    as 422, HTTP exceptions by their status, and anything unexpected as a bare 500."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(FewshotError, _fewshot_error)
    app.add_exception_handler(Exception, _unexpected_error)


_DESCRIPTIONS = {
    400: "The body is not valid JSON or multipart.",
    401: "Missing, invalid or revoked API key.",
    403: "The API key may not access a pool this request touches.",
    404: "Not found.",
    409: "Conflicts with what is stored, or a stored artifact is corrupt.",
    413: "The request body is larger than the server's limit.",
    422: "Invalid input: ``errors`` names the fields (validation) or ``detail`` the rule broken.",
    500: "Unexpected server error (no details are shown).",
    501: "An optional dependency is not installed on the server.",
    502: "The LM backend failed.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries with the problem-details body for ``statuses``."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, _title(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


#: What any protected route may answer besides its own codes: unparsable body, no/bad key,
#: foreign pool, body too large, invalid input, unexpected error.
PROBLEM_RESPONSES = problem_responses(400, 401, 403, 413, 422, 500)
