"""ASGI middleware of the API: the request body size limit (413) and per-route metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI, Request

from ._metrics import Metrics
from .errors import PROBLEM_MEDIA_TYPE, problem

__all__ = ["BodySizeLimit", "RecordMetrics", "install_middleware"]


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
        detail = f"request body larger than {self.limit} bytes"
        body = json.dumps(problem(413, "payload_too_large", detail), separators=(",", ":")).encode()
        headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def route_template(request: Request) -> str:
    """``/v1/pools/{pool}`` for ``/v1/pools/sst5``: bounded label values for metrics."""
    if request.scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (request.scope.get("path_params") or {}).items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in request.url.path.split("/"))


class RecordMetrics:
    """Counts every HTTP request by method, route template and status, with its duration (a plain
    ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(Request(scope))
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)


def install_middleware(app: FastAPI, metrics: Metrics, *, max_request_bytes: int) -> None:
    """Count every request by method, route template and status; reject oversized bodies first."""
    app.add_middleware(RecordMetrics, metrics=metrics)
    app.add_middleware(BodySizeLimit, limit=max_request_bytes)
