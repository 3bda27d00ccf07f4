"""Pools: create, list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..deps import KeyDep, WorkspaceDep, check_pool_access
from ..schemas import PoolCreate, PoolPublic, PoolsPublic

router = APIRouter(prefix="/pools", tags=["pools"])


@router.post("", response_model=PoolPublic, status_code=status.HTTP_201_CREATED, summary="Create a pool")
def create_pool(body: PoolCreate, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, body.name)
    return ws.create_pool(body.name, template=body.template, text_field=body.text_field,
                          embedding_model=body.embedding_model, description=body.description).to_dict()


@router.get("", response_model=PoolsPublic, summary="List the pools this key may access")
def list_pools(ws: WorkspaceDep, key: KeyDep) -> dict:
    data = [p.to_dict() for p in ws.list_pools() if key is None or key.allows(p.name)]
    return {"data": data, "count": len(data)}


@router.get("/{pool}", response_model=PoolPublic, summary="Get a pool with its counts by status")
def get_pool(pool: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.get_pool(pool).to_dict()


@router.delete("/{pool}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a pool and all it holds")
def delete_pool(pool: str, ws: WorkspaceDep, key: KeyDep) -> None:
    check_pool_access(key, pool)
    ws.delete_pool(pool)
