"""Pools (overview), Budget (the curve) and Pool map pages, with the JSON their scripts draw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ...annotate import STRATEGIES
from ...exceptions import NotFoundError
from ...service.pool_map import DEFAULT_MAX_POINTS, MAX_TEXTS
from ..deps import WorkspaceDep
from .auth import SessionDep
from .render import SECURITY_HEADERS, ConsoleRoute, render

router = APIRouter(route_class=ConsoleRoute)

#: Rounds listed per pool on the Pools page.
_LAST_ROUNDS = 3


def _index_version(ws: Any, pool: str) -> int | None:
    try:
        return int(ws.indexes.latest_version(pool)[1])
    except NotFoundError:
        return None


def pool_summary(ws: Any, pool: str) -> dict[str, Any]:
    """What the Pools page shows of one pool."""
    info = ws.pools.get(pool)
    rounds = [r.to_dict(with_items=False) for r in ws.selection.rounds(pool)]
    return {
        "info": info,
        "template": ws.pools.template_info(pool),
        "index_version": _index_version(ws, pool),
        "rounds": rounds[-_LAST_ROUNDS:][::-1],
        "n_rounds": len(rounds),
    }


@router.get("/")
def home() -> Response:
    return RedirectResponse("/ui/pools", status_code=303, headers=SECURITY_HEADERS)


@router.get("/pools")
def pools_page(request: Request, ws: WorkspaceDep, session: SessionDep) -> Response:
    """Every pool the key may read: counts by status, model, template, index version, last rounds."""
    pools = [pool_summary(ws, p.name) for p in ws.pools.all() if session.guard.allows(p.name)]
    return render(request, "pools.html", session=session, csrf=session.csrf, pools=pools, active="pools")


@router.get("/pools/{pool}")
def pool_page(pool: str, request: Request, ws: WorkspaceDep, session: SessionDep) -> Response:
    session.guard.check(pool)
    return render(
        request,
        "pool.html",
        session=session,
        csrf=session.csrf,
        pool=pool,
        summary=pool_summary(ws, pool),
        active="pool",
    )


@router.get("/pools/{pool}/budget")
def budget_page(
    pool: str,
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
    method: Annotated[str, Query(max_length=100)] = "votek",
) -> Response:
    """The page; its script fetches ``budget.json`` (the curve can take a while on a large pool)."""
    session.guard.check(pool)
    ws.pools.ref(pool)  # 404 now for an unknown pool
    STRATEGIES.get(method)
    return render(
        request,
        "budget.html",
        session=session,
        csrf=session.csrf,
        pool=pool,
        method=method,
        methods=STRATEGIES.names(),
        active="budget",
    )


@router.get("/pools/{pool}/budget.json")
def budget_data(
    pool: str,
    ws: WorkspaceDep,
    session: SessionDep,
    method: Annotated[str, Query(max_length=100)] = "votek",
) -> Response:
    """The curve (`SelectionService.budget`): one row per budget, the recommendation, the threshold."""
    session.guard.check(pool)
    curve = ws.selection.budget(pool, method=method)
    rows = curve.to_rows()
    body = {
        "pool": pool,
        "method": curve.method,
        "threshold": float(curve.threshold),
        "recommended": int(curve.recommended),
        "rows": rows,
        "params": {k: v for k, v in curve.params.items() if isinstance(v, str | int | float | bool) or v is None},
    }
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.get("/pools/{pool}/map")
def map_page(
    pool: str,
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
    method: Annotated[str, Query(max_length=50)] = "pca",
    max_points: Annotated[int, Query(ge=1, le=1_000_000)] = DEFAULT_MAX_POINTS,
) -> Response:
    session.guard.check(pool)
    ws.pools.ref(pool)
    methods = ws.pool_map.methods()
    if method not in methods:
        ws.pool_map.points(pool, method=method)  # raises the registry's error naming the choices
    return render(
        request,
        "map.html",
        session=session,
        csrf=session.csrf,
        pool=pool,
        method=method,
        methods=methods,
        max_points=max_points,
        active="map",
    )


@router.get("/pools/{pool}/map.json")
def map_data(
    pool: str,
    ws: WorkspaceDep,
    session: SessionDep,
    method: Annotated[str, Query(max_length=50)] = "pca",
    max_points: Annotated[int, Query(ge=1, le=1_000_000)] = DEFAULT_MAX_POINTS,
) -> Response:
    """The points (`PoolMapService.points`), column by column."""
    session.guard.check(pool)
    return JSONResponse(
        ws.pool_map.points(pool, method=method, max_points=max_points).to_dict(), headers=SECURITY_HEADERS
    )


@router.get("/pools/{pool}/texts")
def map_texts(
    pool: str,
    ws: WorkspaceDep,
    session: SessionDep,
    ids: Annotated[list[int], Query(max_length=MAX_TEXTS)],
) -> Response:
    """Texts of hovered points (JSON; the script puts them in the page as text, never as HTML)."""
    session.guard.check(pool)
    found = ws.pool_map.texts(pool, ids)
    return JSONResponse({str(k): v for k, v in found.items()}, headers=SECURITY_HEADERS)
