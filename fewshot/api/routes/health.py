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
    """200 with request counts and latencies per route, the job queue length, prompt-log and
    search-batching counters (text format; queries / calls is the mean search batch); 401 without
    a valid key."""
    ws = request.app.state.workspace
    logs, batches = ws.ctx.prompt_log_stats(), ws.retrieval.batch_stats()
    body = request.app.state.metrics.render(
        {
            "fewshot_jobs_queued": request.app.state.jobs.queued,
            "fewshot_prompt_logs_queued": logs["queued"],
            "fewshot_prompt_logs_dropped_total": logs["dropped"],
            "fewshot_prompt_logs_failed_total": logs["failed"],
            "fewshot_search_calls_total": batches["searches"],
            "fewshot_search_queries_total": batches["queries"],
        }
    )
    return Response(body, media_type="text/plain; version=0.0.4")
