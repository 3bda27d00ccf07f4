"""The FastAPI application factory: ``create_app(settings)``; nothing is created at import time."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from .. import __version__
from ..config import Settings
from ..exceptions import (
    ConflictError,
    FewshotError,
    InvalidInputError,
    LMBackendError,
    MissingDependencyError,
    NotFoundError,
)
from ..service.labels import LabelImportError
from ..service.workspace import Workspace
from ._metrics import Metrics
from .deps import require_key
from .routes import examples, health, pools, retrieval, selections
from .routes import udr as udr_routes
from .routes import skills as skill_routes

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_STATUS = [(NotFoundError, 404), (ConflictError, 409), (InvalidInputError, 422), (MissingDependencyError, 501),
           (LMBackendError, 502)]


class BodySizeLimit:
    """Rejects request bodies over ``limit`` bytes with 413, by header or while streaming."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._reject(send)
        seen = 0
        rejected = False

        async def limited_receive() -> dict:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    rejected = True
                    await self._reject(send)
                    return {"type": "http.disconnect"}  # the app stops reading; its response is dropped
            return message

        async def guarded_send(message: dict) -> None:
            if not rejected:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _reject(self, send: Any) -> None:
        body = f'{{"detail":"request body larger than {self.limit} bytes"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, *, workspace: Workspace | None = None) -> FastAPI:
    """Build the API. Pass a ``workspace`` to share one (tests, embedding in another app)."""
    ws = workspace or Workspace(settings)
    owns_ws = workspace is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.jobs.start()
        yield
        app.state.jobs.stop()
        if owns_ws:
            ws.close()

    app = FastAPI(title="fewshot", version=__version__, lifespan=lifespan,
                  description="Selective annotation and demonstration retrieval for in-context learning. "
                              "Every route but /v1/health and /v1/ready needs an API key "
                              "(`fewshot keys create NAME`), sent as `Authorization: Bearer <key>` or `X-API-Key`.")
    app.state.workspace = ws
    app.state.jobs = ws.job_runner()
    app.state.metrics = Metrics()

    v1 = APIRouter(prefix="/v1")
    v1.include_router(health.router)
    protected = APIRouter(dependencies=[Depends(require_key)])
    for module in (pools, examples, selections, retrieval):
        protected.include_router(module.router)
    protected.include_router(udr_routes.router)
    protected.include_router(skill_routes.router)
    v1.include_router(protected)
    app.include_router(v1)

    @app.middleware("http")
    async def record_metrics(request: Request, call_next):
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            app.state.metrics.observe(request.method, _route_template(request), status, time.perf_counter() - start)

    @app.exception_handler(LabelImportError)
    async def _label_errors(_request: Request, exc: LabelImportError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc).splitlines()[0],
                                                      "problems": [p.__dict__ for p in exc.report.problems]})

    @app.exception_handler(FewshotError)
    async def _fewshot_errors(_request: Request, exc: FewshotError) -> JSONResponse:
        code = next((c for cls, c in _STATUS if isinstance(exc, cls)), 400)
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal server error"})

    app.add_middleware(BodySizeLimit, limit=ws.settings.max_request_bytes)
    return app


def _route_template(request: Request) -> str:
    """``/v1/pools/{pool}`` for ``/v1/pools/sst5``: bounded label values for metrics."""
    if request.scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (request.scope.get("path_params") or {}).items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in request.url.path.split("/"))
