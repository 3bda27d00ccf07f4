"""Indexes over a pool's labeled items, and retrieval of demonstrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import GuardDep, PoolAccess, WorkspaceDep
from ..schemas import IndexBuild, IndexPublic, RetrieveRequest, RetrieveResponse, demo_public, to_filter

router = APIRouter(prefix="/pools/{pool}", tags=["retrieval"])


@router.post(
    "/index", response_model=IndexPublic, summary="Build or refresh the index over the labeled items (incremental)"
)
def build_index(pool: PoolAccess, ws: WorkspaceDep, body: IndexBuild | None = None) -> dict[str, Any]:
    """200 with the index version (``changed`` false when nothing changed since the last one); 403;
    404 for an unknown pool; 422 when the pool has no labeled items or no vectors can be made."""
    return ws.build_index(pool, kind=(body or IndexBuild()).kind).to_dict()


@router.get("/index", response_model=IndexPublic, summary="The latest index version")
def get_index(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the latest index version; 403; 404 for an unknown pool or one never indexed."""
    return ws.index_info(pool).to_dict()


@router.post("/retrieve", response_model=RetrieveResponse, summary="Demonstrations for a batch of queries")
def retrieve(pool: PoolAccess, body: RetrieveRequest, ws: WorkspaceDep, guard: GuardDep) -> dict[str, Any]:
    """200 with the demonstrations per query, best first, and the version of the index searched (a
    UDR retriever's own index for ``udr:<model>``); 403; 404 for an unknown pool, index or model;
    422 for an unknown retriever (any registered one, or ``udr``, ``udr:<model>``,
    ``udr:<model>:v<N>``) or bad filter; 409 for a corrupt index or model on disk."""
    version, results = ws.retrieval.retrieve_versioned(
        pool, body.queries, k=body.k, retriever=guard.retriever(ws, body.retriever), filter=to_filter(body.filter)
    )
    return {"index_version": version, "results": [[demo_public(d) for d in demos] for demos in results]}
