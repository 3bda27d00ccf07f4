"""The web console at ``/ui``: server-rendered pages (Jinja2, autoescaped) over the same service
layer, API keys and pool scope as the REST API, with a little hand-written JavaScript and one
vendored charting library (uPlot) served from ``/ui/static`` (no CDN, no build step).

Pages: Pools, a pool's overview, Budget (the curve), Pool map (2-D projection on a canvas),
Rounds (items, exports, label import), Prompt provenance (log search, one prompt's account) and
Playground (retrievers side by side). `install_console` mounts it; it is left out of the OpenAPI
document (it is not part of the API contract).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from .render import STATIC_DIR
from .routes_auth import router as auth_router
from .routes_pools import home
from .routes_pools import router as pools_router
from .routes_prompts import router as prompts_router
from .routes_rounds import router as rounds_router

__all__ = ["install_console", "PREFIX"]

PREFIX = "/ui"


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/ui`` and its static files at ``/ui/static``."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for part in (auth_router, pools_router, rounds_router, prompts_router):
        router.include_router(part)
    app.include_router(router)
    app.add_api_route(PREFIX, home, methods=["GET"], include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
