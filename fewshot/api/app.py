"""The FastAPI application factory: ``create_app(settings)``; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, Response

from .. import __version__
from ..config import Settings
from ..service.workspace import Workspace
from ._metrics import Metrics
from ._middleware import install_middleware
from .console import install_console
from .deps import require_key
from .errors import PROBLEM_RESPONSES, Problem, ProblemField, install_error_handlers, problem_responses
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

    app = FastAPI(
        title="fewshot",
        version=__version__,
        lifespan=lifespan,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=lambda route: OPERATION_IDS.get(route.name, route.name),
    )
    app.state.workspace = ws
    app.state.jobs = ws.job_runner()
    app.state.metrics = Metrics()

    v1 = APIRouter(prefix="/v1")
    v1.include_router(health.router)
    protected = APIRouter(dependencies=[Depends(require_key)], responses=PROBLEM_RESPONSES)
    for module in PROTECTED:
        protected.include_router(module.router)
    v1.include_router(protected)
    app.include_router(v1)
    install_console(app)  # the web console at /ui (not in the OpenAPI document)

    _install_docs(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    install_middleware(app, app.state.metrics, max_request_bytes=ws.settings.max_request_bytes)
    return app


#: Operation ids that read like method names, where the route function's name does not.
OPERATION_IDS = {
    "health": "get_health",
    "ready": "get_readiness",
    "metrics": "get_metrics",
    "embed": "embed_pool",
    "predict": "predict_skills",
    "prompt_log": "get_prompt_log",
    "retrieve": "retrieve_demonstrations",
    "udr_mine": "start_udr_mining",
    "udr_train": "start_udr_training",
}

#: Statuses a route answers besides its success and `PROBLEM_RESPONSES` (each with a problem body).
#: 404: an unknown pool (or the object named); 409: a conflict with what is stored or a corrupt
#: index/model; 501: an optional dependency missing; 502: the LM backend failed.
EXTRA_STATUSES: dict[str, tuple[int, ...]] = {
    "create_pool": (409,),
    "list_pools": (),
    "metrics": (),
    "add_examples": (404, 409),
    "upload_examples": (404, 409),
    "build_index": (404, 409, 501),
    "get_index": (404, 409),
    "retrieve": (404, 409, 501),
    "build_prompt": (404, 409, 501),
    "predict": (404, 409, 501, 502),
    "edit_skills": (404, 409),
    "udr_mine": (404, 409, 501),
    "udr_train": (404, 409, 501),
    "get_model": (404, 409),
}
#: The statuses of the open routes (no key).
OPEN_STATUSES: dict[str, tuple[int, ...]] = {"health": (), "ready": (503,)}

#: The two ways to send a key; protected operations accept either.
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "`X-API-Key: <key>`"},
}
_KEY_HEADERS = {"authorization", "x-api-key"}


def _document_statuses(doc: dict[str, Any]) -> None:
    """Declare on each operation the error statuses it can answer (problem-details bodies)."""
    names = {op_id: name for name, op_id in OPERATION_IDS.items()}
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            name = names.get(operation["operationId"], operation["operationId"])
            responses = operation.setdefault("responses", {})
            if name in OPEN_STATUSES:
                statuses: tuple[int, ...] = OPEN_STATUSES[name]
            elif name == "metrics":
                statuses = (401, 500)
                responses.pop("422", None)
                responses["200"] = {"description": "Prometheus text format.", "content": {"text/plain": {}}}
            else:
                statuses = EXTRA_STATUSES.get(name, (404,))
            for status, response in problem_responses(*statuses).items():
                responses.setdefault(str(status), response)
            if name == "ready":
                responses["503"] = {
                    "description": "The database does not answer.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: the problem-details schemas, both key schemes on every protected
    operation (the key headers are not listed as parameters), operation ids as method names."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, ProblemField):
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in js.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = js
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    _document_statuses(doc)
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            params = [
                p
                for p in operation.get("parameters", [])
                if p.get("in") != "header" or p["name"].lower() not in _KEY_HEADERS
            ]
            had_key = len(params) != len(operation.get("parameters", []))
            if params:
                operation["parameters"] = params
            else:
                operation.pop("parameters", None)
            if had_key:
                operation["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if "application/problem+json" in content:
                    content.pop("application/json", None)
    app.openapi_schema = doc
    return doc


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, their assets served by this server (the
    ``fastapi-offline`` package's copies; without it, a plain local page linking /openapi.json)."""
    try:
        import fastapi_offline

        static: Path | None = Path(fastapi_offline.__file__).parent / "static"
    except ImportError:
        static = None
    assets = {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}

    def _plain(title: str) -> HTMLResponse:
        return HTMLResponse(
            f"<!doctype html><title>{title}</title><h1>{title}</h1><p>The interactive docs need the "
            "<code>fastapi-offline</code> package on the server; the contract is at "
            '<a href="/openapi.json">/openapi.json</a>.</p>'
        )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        if static is None:
            return _plain("fewshot API")
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="fewshot API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        if static is None:
            return _plain("fewshot API")
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="fewshot API",
            redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        if static is None or name not in assets:
            return Response(status_code=404)
        return FileResponse(static / name)
