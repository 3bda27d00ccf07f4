"""Liveness, readiness (no key needed) and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ... import __version__
from ..deps import KeyDep, WorkspaceDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, Any]:
    """200 with the version, always (no key needed)."""
    return {"status": "ok", "version": __version__}


@router.get("/ready", summary="Readiness: the database answers and the schema is current")
def ready(ws: WorkspaceDep, response: Response) -> dict[str, Any]:
    """200 with the schema version; 503 when the database does not answer (no key needed)."""
    try:
        version = ws.ctx.schema_version()
    except Exception:  # noqa: BLE001 - any failure means not ready
        response.status_code = 503
        return {"status": "unavailable", "database": "unreachable"}
    return {"status": "ready", "schema": version}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, _key: KeyDep) -> Response:
    """200 with request counts and latencies per route, and the job queue length (text format);
    401 without a valid key."""
    logs = request.app.state.workspace.ctx.prompt_log_stats()
    body = request.app.state.metrics.render(
        {
            "fewshot_jobs_queued": request.app.state.jobs.queued,
            "fewshot_prompt_logs_queued": logs["queued"],
            "fewshot_prompt_logs_dropped_total": logs["dropped"],
            "fewshot_prompt_logs_failed_total": logs["failed"],
        }
    )
    return Response(body, media_type="text/plain; version=0.0.4")
