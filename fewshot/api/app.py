"""The FastAPI application factory: ``create_app(settings)``; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from .. import __version__
from ..config import Settings
from ..service.workspace import Workspace
from ._metrics import Metrics
from ._middleware import install_middleware
from .deps import require_key
from .errors import install_error_handlers
from .routes import PROTECTED, health

__all__ = ["create_app"]

DESCRIPTION = (
    "Selective annotation and demonstration retrieval for in-context learning. Every route but /v1/health and "
    "/v1/ready needs an API key (`fewshot keys create NAME`), sent as `Authorization: Bearer <key>` or `X-API-Key`."
)


def create_app(settings: Settings | None = None, *, workspace: Workspace | None = None) -> FastAPI:
    """Build the API. Pass a ``workspace`` to share one (tests, embedding in another app); the app
    then leaves it open when it stops."""
    ws = workspace or Workspace(settings)
    owns_ws = workspace is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.start()
        yield
        app.state.jobs.stop()
        if owns_ws:
            ws.close()

    app = FastAPI(title="fewshot", version=__version__, lifespan=lifespan, description=DESCRIPTION)
    app.state.workspace = ws
    app.state.jobs = ws.job_runner()
    app.state.metrics = Metrics()

    v1 = APIRouter(prefix="/v1")
    v1.include_router(health.router)
    protected = APIRouter(dependencies=[Depends(require_key)])
    for module in PROTECTED:
        protected.include_router(module.router)
    v1.include_router(protected)
    app.include_router(v1)

    install_error_handlers(app)
    install_middleware(app, app.state.metrics, max_request_bytes=ws.settings.max_request_bytes)
    return app
