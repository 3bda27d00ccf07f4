"""Pools: create, list, get, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from .._allowlist import resolve_embedding_model
from ..deps import GuardDep, PoolAccess, WorkspaceDep
from ..schemas import PoolCreate, PoolPublic, PoolsPublic

router = APIRouter(prefix="/pools", tags=["pools"])


@router.post("", response_model=PoolPublic, status_code=status.HTTP_201_CREATED, summary="Create a pool")
def create_pool(body: PoolCreate, ws: WorkspaceDep, guard: GuardDep) -> dict[str, Any]:
    """201 with the pool; 403 when the key may not access that name; 409 when it exists; 422 for a
    bad template or field."""
    guard.check(body.name)
    options = body.model_dump(exclude={"name"})
    options["embedding_model"] = resolve_embedding_model(ws.settings, body.embedding_model)
    return ws.create_pool(body.name, **options).to_dict()


@router.get("", response_model=PoolsPublic, summary="List the pools this key may access")
def list_pools(ws: WorkspaceDep, guard: GuardDep) -> dict[str, Any]:
    """200 with the pools the key may access (every pool for an unlimited key)."""
    data = [p.to_dict() for p in ws.list_pools() if guard.allows(p.name)]
    return {"data": data, "count": len(data)}


@router.get("/{pool}", response_model=PoolPublic, summary="Get a pool with its counts by status")
def get_pool(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the pool and its counts by status; 403; 404 for an unknown pool."""
    return ws.get_pool(pool).to_dict()


@router.delete("/{pool}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a pool and all it holds")
def delete_pool(pool: PoolAccess, ws: WorkspaceDep) -> None:
    """204 once the pool, its items, rounds, indexes and logs are gone; 403; 404 for an unknown pool."""
    ws.delete_pool(pool)
