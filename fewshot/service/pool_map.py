"""The pool map: a 2-D projection of a pool's vectors (PCA; UMAP when ``umap-learn`` is installed),
cached per vector version, and a downsampled set of points to draw that always keeps the selected
and labeled items.

The *vector version* of a pool is a digest of its embedding model and, in id order, every item's
database id and content hash: it changes when items are added, removed or re-embedded, and not
when they are selected or labeled (colours are read fresh on every call, coordinates are not
recomputed). Projections are kept in memory (a few per process) and on disk under
``{home}/maps/pool-{id}/{method}-{version}.npz``, so a restarted server answers from the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from fewshot.exceptions import InvalidInputError, MissingDependencyError
from fewshot.registry import Registry
from fewshot.service.context import ServiceContext
from fewshot.service.pools import STATUSES, PoolService
from fewshot.store import map_points

__all__ = ["PoolMapService", "PoolMap", "PROJECTIONS", "pca_2d", "DEFAULT_MAX_POINTS", "MAX_TEXTS"]

#: Points drawn by default; selected and labeled items are kept beyond it.
DEFAULT_MAX_POINTS = 20_000
#: Most texts one hover request may ask for.
MAX_TEXTS = 50
#: Projections kept in memory per process.
_MEMORY_SLOTS = 8
#: Rows per block of the PCA's covariance and projection.
_PCA_BLOCK = 16_384

Projection = Callable[[np.ndarray, int], np.ndarray]
#: 2-D projections by name: ``f(X (n, d) float32, seed) -> (n, 2) float32``.
PROJECTIONS: Registry[Projection] = Registry("map projection")


def pca_2d(X: np.ndarray, seed: int = 0) -> np.ndarray:
    """The first two principal components of ``X`` (centred), ``(n, 2)`` float32; signs fixed so
    that each component's largest loading is positive (the same data always gives the same map).
    The covariance is summed in float32 blocks into float64 (never an (n, d) float64 copy), on one
    BLAS thread: these products are small, and on a busy machine a multi-threaded BLAS made them up
    to 50x slower (a 384 x 384 ``eigh``: 1.5 s instead of 0.03 s)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        return np.zeros((0, 2), np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        return _pca_2d(X)


def _pca_2d(X: np.ndarray) -> np.ndarray:
    n, d = X.shape
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    cov = np.zeros((d, d), np.float64)
    for s in range(0, n, _PCA_BLOCK):
        block = X[s : s + _PCA_BLOCK] - mean
        cov += block.T @ block
    values, vectors = np.linalg.eigh(cov)
    comps = vectors[:, np.argsort(values)[::-1][:2]]
    if comps.shape[1] < 2:
        comps = np.pad(comps, ((0, 0), (0, 2 - comps.shape[1])))
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(2)])
    comps = (comps * np.where(signs == 0, 1.0, signs)).astype(np.float32)
    out = np.empty((n, 2), np.float32)
    for s in range(0, n, _PCA_BLOCK):
        out[s : s + _PCA_BLOCK] = (X[s : s + _PCA_BLOCK] - mean) @ comps
    return out


def umap_2d(X: np.ndarray, seed: int = 0) -> np.ndarray:
    """UMAP (cosine) to 2-D; needs ``umap-learn``."""
    try:
        import umap
    except ImportError as exc:
        raise MissingDependencyError("the umap projection needs `pip install umap-learn`") from exc
    reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed)
    return np.asarray(reducer.fit_transform(np.asarray(X, dtype=np.float32)), dtype=np.float32)


PROJECTIONS.register("pca", pca_2d)
if importlib.util.find_spec("umap") is not None:
    PROJECTIONS.register("umap", umap_2d)


@dataclass(frozen=True)
class PoolMap:
    """Points of a pool map, column by column (one entry per point drawn).

    ``x``, ``y``: coordinates scaled to [0, 1] over the whole pool; ``ids``: database ids;
    ``status``: index into ``statuses``; ``label``: index into ``labels`` (-1: none); ``round`` and
    ``position``: the item's selection round and place in it (-1: never selected). ``total``: the
    pool's items with a vector; ``shown``: points drawn (every selected/labeled item, then a
    uniform sample of the others up to ``max_points``); ``missing``: items without a vector yet."""

    pool: str
    method: str
    vector_version: str
    total: int
    shown: int
    missing: int
    max_points: int
    cached: bool
    seconds: float
    statuses: list[str]
    labels: list[str]
    counts: dict[str, int]
    x: list[float] = field(repr=False)
    y: list[float] = field(repr=False)
    ids: list[int] = field(repr=False)
    status: list[int] = field(repr=False)
    label: list[int] = field(repr=False)
    round: list[int] = field(repr=False)
    position: list[int] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PoolMapService:
    """2-D maps of pools, projected once per vector version."""

    def __init__(self, ctx: ServiceContext, pools: PoolService) -> None:
        self.ctx, self.pools = ctx, pools
        self._lock = threading.Lock()
        self._memory: OrderedDict[tuple[int, str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @staticmethod
    def methods() -> list[str]:
        """The registered projections (``pca``; ``umap`` when umap-learn is installed)."""
        return PROJECTIONS.names()

    def _cache_path(self, pool_id: int, method: str, version: str) -> Path:
        return Path(self.ctx.settings.home) / "maps" / f"pool-{pool_id}" / f"{method}-{version}.npz"

    def _projection(
        self, pool_id: int, model: str, method: str, version: str, ids: np.ndarray, hashes: list[str], seed: int
    ) -> tuple[np.ndarray, bool]:
        """``(coords (n, 2) in [0, 1], cached)`` for the items ``ids`` (all with vectors)."""
        key = (pool_id, method, version)
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                return hit[1], True
        path = self._cache_path(pool_id, method, version)
        coords: np.ndarray | None = None
        if path.is_file():
            try:
                with np.load(path) as saved:
                    if np.array_equal(saved["ids"], ids):
                        coords = saved["coords"]
            except (OSError, ValueError, KeyError):
                coords = None  # a damaged cache file is recomputed and replaced
        cached = coords is not None
        if coords is None:
            X = self.ctx.vector_store(pool_id, model).get(hashes)
            raw = PROJECTIONS.get(method)(X, seed)
            lo, hi = raw.min(axis=0), raw.max(axis=0)
            coords = ((raw - lo) / np.where(hi > lo, hi - lo, 1.0)).astype(np.float32)
            self._save(path, ids, coords)
        with self._lock:
            self._memory[key] = (ids, coords)
            while len(self._memory) > _MEMORY_SLOTS:
                self._memory.popitem(last=False)
        return coords, cached

    @staticmethod
    def _save(path: Path, ids: np.ndarray, coords: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, ids=ids, coords=coords)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def points(self, pool: str, *, method: str = "pca", max_points: int = DEFAULT_MAX_POINTS, seed: int = 0) -> PoolMap:
        """The map of ``pool`` by projection ``method``: at most ``max_points`` points, plus every
        selected and labeled item (always drawn). Items without a vector are counted in ``missing``."""
        start = time.perf_counter()
        PROJECTIONS.get(method)  # an unknown name fails now, naming the choices
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
            raise InvalidInputError(f"max_points must be a positive integer, got {max_points!r}")
        pool_id, model = self.pools.ref(pool)
        with self.ctx.session() as s:
            rows = map_points.point_rows(s, pool_id=pool_id)
            rounds = map_points.round_positions(s, pool_id=pool_id)
        store = self.ctx.vector_store(pool_id, model)
        hashes_all = [r[1] for r in rows]
        has_vector = store.contains(hashes_all) if rows else np.zeros(0, bool)
        kept = [r for r, ok in zip(rows, has_vector) if ok]
        ids = np.array([r[0] for r in kept], dtype=np.int64)
        hashes = [r[1] for r in kept]
        digest = hashlib.sha256(model.encode())
        digest.update(ids.tobytes())
        digest.update("".join(hashes).encode())
        version = digest.hexdigest()[:16]
        coords, cached = (
            self._projection(pool_id, model, method, version, ids, hashes, seed)
            if len(ids)
            else (np.zeros((0, 2), np.float32), False)
        )
        status_of = {name: n for n, name in enumerate(STATUSES)}
        status = np.array([status_of.get(r[2], 0) for r in kept], dtype=np.int64)
        labels = sorted({r[3] for r in kept if r[3] is not None})
        label_of = {name: n for n, name in enumerate(labels)}
        label = np.array([label_of.get(r[3], -1) if r[3] is not None else -1 for r in kept], dtype=np.int64)
        chosen = np.flatnonzero(status != status_of["unlabeled"])
        others = np.flatnonzero(status == status_of["unlabeled"])
        room = max(0, max_points - len(chosen))
        if room < len(others):
            others = np.sort(np.random.default_rng(seed).choice(others, size=room, replace=False))
        shown = np.concatenate([others, chosen]).astype(np.int64)  # chosen drawn last, on top
        where = {int(e): (rnd, pos) for e, rnd, pos in rounds}  # an item's latest round
        sel = [where.get(int(ids[i]), (-1, -1)) for i in shown]
        counts = {name: int(np.sum(status == n)) for name, n in status_of.items()}
        return PoolMap(
            pool=pool,
            method=method,
            vector_version=version,
            total=len(ids),
            shown=len(shown),
            missing=len(rows) - len(ids),
            max_points=max_points,
            cached=cached,
            seconds=round(time.perf_counter() - start, 4),
            statuses=list(STATUSES),
            labels=labels,
            counts=counts,
            x=np.round(coords[shown, 0], 4).tolist(),
            y=np.round(coords[shown, 1], 4).tolist(),
            ids=ids[shown].tolist(),
            status=status[shown].tolist(),
            label=label[shown].tolist(),
            round=[r for r, _ in sel],
            position=[p for _, p in sel],
        )

    def texts(self, pool: str, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """``{id: {"external_id", "text"}}`` of up to `MAX_TEXTS` of the pool's items (hover);
        ids of other pools or unknown ids are left out."""
        if len(ids) > MAX_TEXTS:
            raise InvalidInputError(f"ask for at most {MAX_TEXTS} texts at a time, got {len(ids)}")
        pool_id, _ = self.pools.ref(pool)
        with self.ctx.session() as s:
            found = map_points.texts_by_ids(s, pool_id=pool_id, ids=[int(i) for i in ids])
        return {i: {"external_id": ext, "text": text} for i, (ext, text) in found.items()}
