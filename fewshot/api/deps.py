"""Shared FastAPI dependencies: the workspace, the job runner, the caller's API key, and pool
access. `PoolGuard` is the one place that decides whether a key may touch a pool: `PoolAccess`
applies it to the ``{pool}`` path parameter, and routes whose pools come in the body or from a
stored object (a prompt request, UDR jobs, a job, a prompt log) call `PoolGuard.check` on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Request, status

from ..service.jobs import JobRunner
from ..service.keys import KeyInfo
from ..service.workspace import Workspace

__all__ = ["WorkspaceDep", "JobsDep", "KeyDep", "GuardDep", "PoolAccess", "PoolGuard", "require_key"]


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]


def require_key(
    ws: WorkspaceDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> KeyInfo | None:
    """The caller's key, from ``Authorization: Bearer <key>`` or ``X-API-Key``; 401 if missing or
    invalid. None when the workspace does not require keys."""
    if not ws.settings.require_api_key:
        return None
    secret = x_api_key
    if secret is None and authorization:
        scheme, _, value = authorization.partition(" ")
        secret = value.strip() if scheme.lower() == "bearer" else None
    if not secret:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    info = ws.keys.verify(secret)
    if info is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return info


KeyDep = Annotated[KeyInfo | None, Depends(require_key)]


class PoolGuard:
    """The pools the caller's key may touch (every pool without a key or with an unlimited one)."""

    def __init__(self, key: KeyInfo | None) -> None:
        self.key = key

    def allows(self, pool: str) -> bool:
        return self.key is None or self.key.allows(pool)

    def check(self, *pools: str | None) -> None:
        """403 naming the first pool the key may not access (None entries are skipped)."""
        for pool in pools:
            if pool is not None and not self.allows(pool):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key may not access pool {pool!r}")

    def check_job(self, job: Mapping[str, Any]) -> None:
        """A job is visible to keys that may access every pool it works on (``pool`` or ``pools``)."""
        params = job.get("params") or {}
        self.check(params.get("pool"), *(params.get("pools") or ()))


def pool_guard(key: KeyDep) -> PoolGuard:
    return PoolGuard(key)


GuardDep = Annotated[PoolGuard, Depends(pool_guard)]


def pool_access(pool: Annotated[str, Path(description="The pool's name.")], guard: GuardDep) -> str:
    """The ``{pool}`` path parameter, once the caller's key may access it (403 otherwise)."""
    guard.check(pool)
    return pool


#: The ``{pool}`` of the path, checked against the caller's key.
PoolAccess = Annotated[str, Depends(pool_access)]
