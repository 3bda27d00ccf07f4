"""The one mapping of fewshot's exception tree (`fewshot.exceptions`) to HTTP status codes, and the
handlers that apply it. Every error body is ``{"detail": "..."}``; a rejected label import adds
``"problems"`` (one per item); an unexpected error is a bare 500 that never carries a stack trace.

==========================  ======
exception                   status
==========================  ======
InvalidInputError           422 (IngestError, LabelImportError with its problems)
NotFoundError               404
ConflictError               409 (CorruptArtifactError)
LMBackendError              502
MissingDependencyError      501
any other FewshotError      400
anything else               500
==========================  ======
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..exceptions import (
    ConflictError,
    FewshotError,
    InvalidInputError,
    LMBackendError,
    MissingDependencyError,
    NotFoundError,
)
from ..service.labels import LabelImportError

__all__ = ["STATUS_CODES", "status_code", "error_body", "install_error_handlers"]

logger = logging.getLogger(__name__)

#: Checked in order; the first class the error is an instance of gives the status.
STATUS_CODES: tuple[tuple[type[FewshotError], int], ...] = (
    (InvalidInputError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (LMBackendError, 502),
    (MissingDependencyError, 501),
)
#: The status of a `FewshotError` none of `STATUS_CODES` covers.
DEFAULT_STATUS = 400


def status_code(exc: FewshotError) -> int:
    """The HTTP status of a fewshot error."""
    return next((code for cls, code in STATUS_CODES if isinstance(exc, cls)), DEFAULT_STATUS)


def error_body(exc: FewshotError) -> dict[str, Any]:
    """``{"detail": message}``; a label import's first line plus its ``problems``."""
    if isinstance(exc, LabelImportError):
        return {"detail": str(exc).splitlines()[0], "problems": [p.__dict__ for p in exc.report.problems]}
    return {"detail": str(exc)}


async def _fewshot_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FewshotError)
    return JSONResponse(status_code=status_code(exc), content=error_body(exc))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal server error"})


def install_error_handlers(app: FastAPI) -> None:
    """Map fewshot errors to their status codes and anything unexpected to a bare 500."""
    app.add_exception_handler(FewshotError, _fewshot_error)
    app.add_exception_handler(Exception, _unexpected_error)
