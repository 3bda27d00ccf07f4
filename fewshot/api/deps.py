"""Shared FastAPI dependencies: the workspace, the job runner, the caller's API key, and pool
access. `PoolGuard` is the one place that decides whether a key may touch a pool: `PoolAccess`
applies it to the ``{pool}`` path parameter, and routes whose pools come in the body or from a
stored object (a prompt request, UDR jobs, a job, a prompt log) call `PoolGuard.check` on them.

Every resource is owned by pools, and the rule per resource is:

- a pool, and what lives under ``/pools/{pool}`` (examples, rounds, labels, indexes, skills,
  thresholds, embedding and selection jobs): the key must allow that pool name, else 403. The
  answer does not depend on whether the pool exists (no existence oracle for other tenants);
- a job (``GET /jobs/{id}``): the key must allow every pool the job's params name (``pool``,
  ``pools``: UDR jobs too), else 403; a job naming no pool: only keys without a pool limit;
- a prompt log: the key must allow the prompt's pool, else 403; building a prompt: its ``pool``;
- UDR mining/training: every pool of ``pools``, else 403;
- a trained model: visible only to keys that allow every pool it was trained on. An invisible
  model does not exist for the key: ``GET /models`` leaves it out, ``GET /models/{name}`` and
  ``"retriever": "udr:<name>"`` give the same 404 as for a missing model (the latest *visible*
  version is chosen for ``udr:<name>``). A limited key may not train a new version of a name
  that has versions it cannot see (409: it would shadow them for other callers);
- errors never name other tenants' pools or models (`NotFoundError.hint` is for the CLI only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

    @property
    def limited(self) -> bool:
        """Whether the key may access only some pools."""
        return self.key is not None and self.key.pools is not None

    @property
    def readable(self) -> Callable[[str], bool] | None:
        """The predicate service methods take as ``readable`` (None: no limit, see everything)."""
        return self.allows if self.limited else None

    def check(self, *pools: str | None) -> None:
        """403 naming the first pool the key may not access (None entries are skipped)."""
        for pool in pools:
            if pool is not None and not self.allows(pool):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key may not access pool {pool!r}")

    def check_job(self, job: Mapping[str, Any]) -> None:
        """A job is visible to keys that may access every pool it works on (``pool`` or ``pools``)."""
        params = job.get("params") or {}
        pools = [params.get("pool"), *(params.get("pools") or ())]
        if self.limited and not any(isinstance(p, str) for p in pools):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key may not access this job")
        self.check(*(p if isinstance(p, str) else None for p in pools))

    def retriever(self, ws: Workspace, name: str) -> str:
        """The retriever name to pass on: a UDR form is pinned to the version this key may see
        (404 as for a missing model when it may see none); other names as they are."""
        return ws.retrieval.resolve_name(name, readable=self.readable)


def pool_guard(key: KeyDep) -> PoolGuard:
    return PoolGuard(key)


GuardDep = Annotated[PoolGuard, Depends(pool_guard)]


def pool_access(pool: Annotated[str, Path(description="The pool's name.")], guard: GuardDep) -> str:
    """The ``{pool}`` path parameter, once the caller's key may access it (403 otherwise)."""
    guard.check(pool)
    return pool


#: The ``{pool}`` of the path, checked against the caller's key.
PoolAccess = Annotated[str, Depends(pool_access)]
