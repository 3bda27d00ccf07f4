"""Shared FastAPI dependencies: the workspace, the job runner, the caller's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from ..service.jobs import JobRunner
from ..service.keys import KeyInfo
from ..service.workspace import Workspace

__all__ = ["WorkspaceDep", "JobsDep", "KeyDep", "require_key", "check_pool_access"]


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]


def require_key(ws: WorkspaceDep, authorization: Annotated[str | None, Header()] = None,
                x_api_key: Annotated[str | None, Header()] = None) -> KeyInfo | None:
    """The caller's key, from ``Authorization: Bearer <key>`` or ``X-API-Key``; 401 if missing or invalid."""
    if not ws.settings.require_api_key:
        return None
    secret = x_api_key
    if secret is None and authorization:
        scheme, _, value = authorization.partition(" ")
        secret = value.strip() if scheme.lower() == "bearer" else None
    if not secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key (Authorization: Bearer <key> or X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})
    info = ws.keys.verify(secret)
    if info is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key",
                            headers={"WWW-Authenticate": "Bearer"})
    return info


KeyDep = Annotated[KeyInfo | None, Depends(require_key)]


def check_pool_access(key: KeyInfo | None, pool: str) -> None:
    if key is not None and not key.allows(pool):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key may not access pool {pool!r}")
