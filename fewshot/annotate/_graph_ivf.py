"""Approximate k-nearest-neighbour graph of a pool with itself through an inverted file (IVF).

The rows are partitioned into ``nlist`` lists by a k-means coarse quantizer trained on a random
sample (spherical FAISS k-means, ``train_size`` rows). Every row is a query that scans the
``nprobe`` lists whose centroids are most similar to it (its own list first), so the search is
``n x nprobe x (n / nlist)`` inner products instead of ``n x n``.

Because the queries are the pool itself, the scan is organised for matrix products, not per
query: rows are sorted by list once (each list becomes one contiguous block), queries are
processed in chunks of consecutive sorted rows, and each chunk meets each list it probes in one
``queries x members`` float32 product; the best ``k + 1`` of every product row are kept
(``argpartition``), and each query's ``nprobe x (k + 1)`` candidates are merged at the end of
its chunk. Chunks run on ``n_threads`` Python threads with one BLAS thread each (numpy releases
the GIL in products and partitions), so memory stays at ``O(chunk x nprobe x k)`` per thread on
top of the sorted copy of ``X`` and the graph.

The result follows the rule of `fewshot.annotate._graph` for approximate graphs: entries by
decreasing float32 similarity, position 0 (normally the row itself) dropped, ``-1`` / ``0.0``
where fewer than ``k + 1`` candidates were scanned.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["IvfPlan", "ListLayout", "plan_ivf", "train_coarse", "assign_lists", "search_ivf", "search_chunk", "ivf_knn"]

logger = logging.getLogger(__name__)

#: Candidates each query should scan, as a multiple of ``k + 1``, when ``nprobe`` is not given.
CANDIDATE_FACTOR = 10
#: Fewest candidates each query should scan when ``nprobe`` is not given (structure-poor data
#: needs them whatever ``k``; small pools are then searched almost exhaustively, which is cheap).
MIN_CANDIDATES = 1536
#: Smallest default list, as a multiple of ``k + 1``.
LIST_FACTOR = 4
#: Fewest lists scanned per query by default.
MIN_PROBE = 4
#: Up to this many probes, `assign_lists` finds them with argmax passes instead of a partition.
_ARGMAX_PROBES = 8
#: Rows of one query chunk (and of one assignment block).
CHUNK = 8192

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class IvfPlan:
    """IVF settings for a pool of ``n`` rows: ``nlist`` lists, ``nprobe`` probed per query,
    ``train_size`` rows to train the quantizer on."""

    nlist: int
    nprobe: int
    train_size: int


def plan_ivf(
    n: int, k: int, *, nlist: int | None = None, nprobe: int | None = None, train_size: int | None = None
) -> IvfPlan:
    """Resolve the IVF settings for ``n`` rows and ``k`` neighbours.

    Defaults: ``nlist = min(4 * sqrt(n), n / (LIST_FACTOR * (k + 1)))`` (lists of at least
    ``LIST_FACTOR * (k + 1)`` rows, so that keeping the best ``k + 1`` of a list is cheap next to
    scanning it; at least 1), ``nprobe`` so that each query scans about ``max(CANDIDATE_FACTOR *
    (k + 1), MIN_CANDIDATES)`` rows (at least ``MIN_PROBE`` lists, at most ``nlist``), ``train_size = min(n, 32 *
    nlist)``. Raises `InvalidInputError` for a non-positive value.
    """
    for name, value in (("nlist", nlist), ("nprobe", nprobe), ("train_size", train_size)):
        if value is not None and (isinstance(value, bool) or int(value) < 1):
            raise InvalidInputError(f"{name} must be a positive integer; got {value!r}")
    k1 = max(1, int(k) + 1)
    n_lists = int(nlist) if nlist is not None else max(1, min(round(4 * math.sqrt(n)), n // (LIST_FACTOR * k1)))
    n_lists = max(1, min(n_lists, n))
    if nprobe is None:
        per_list = n / n_lists
        wanted = max(CANDIDATE_FACTOR * k1, MIN_CANDIDATES)
        n_probe = max(MIN_PROBE, math.ceil(wanted / per_list))
    else:
        n_probe = int(nprobe)
    n_probe = min(n_probe, n_lists)
    n_train = min(n, int(train_size) if train_size is not None else 32 * n_lists)
    return IvfPlan(n_lists, n_probe, max(n_train, n_lists))


@contextlib.contextmanager
def _blas_threads(n: int) -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def train_coarse(X: np.ndarray, nlist: int, train_size: int, *, seed: int = 0, niter: int = 10) -> np.ndarray:
    """Unit centroids, float32 of shape ``(nlist, dim)``, of spherical k-means on ``train_size``
    rows of ``X`` drawn at random (seeded)."""
    import faiss

    n, d = X.shape
    if nlist == 1:
        c = X.mean(axis=0, keepdims=True).astype(np.float32)
        norm = float(np.linalg.norm(c))
        return c / norm if norm > 0 else np.ones((1, d), np.float32) / np.sqrt(d)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, train_size), replace=False))
    km = faiss.Kmeans(
        d,
        nlist,
        niter=niter,
        spherical=True,
        seed=seed,
        min_points_per_centroid=1,
        max_points_per_centroid=max(1, train_size // nlist + 1),
    )
    km.train(np.ascontiguousarray(X[rows]))
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


def assign_lists(
    X: np.ndarray, centroids: np.ndarray, nprobe: int, *, n_threads: int = 1, progress: ProgressFn | None = None
) -> np.ndarray:
    """The ``nprobe`` most similar centroids of every row, most similar first: int32 of shape
    ``(n, nprobe)``; column 0 is the row's list."""
    n = X.shape[0]
    nlist = centroids.shape[0]
    probes = np.empty((n, nprobe), dtype=np.int32)
    CT = np.ascontiguousarray(centroids.T)
    done = [0]

    def run(s: int) -> None:
        S = X[s : s + CHUNK] @ CT
        if nprobe <= _ARGMAX_PROBES:  # a few vectorised argmax passes beat a partition
            rows = np.arange(S.shape[0])
            for j in range(nprobe):
                best = S.argmax(axis=1)
                probes[s + rows, j] = best
                S[rows, best] = -np.inf
            return _tick(S.shape[0])
        top = np.argpartition(S, nlist - nprobe, axis=1)[:, nlist - nprobe :] if nprobe < nlist else None
        if top is None:
            top = np.broadcast_to(np.arange(nlist), S.shape).copy()
        vals = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        probes[s : s + CHUNK] = np.take_along_axis(top, order, axis=1)
        _tick(S.shape[0])

    def _tick(m: int) -> None:
        done[0] += m
        if progress is not None:
            progress(done[0], n)

    _run_all(run, range(0, n, CHUNK), n_threads)
    return probes


def _run_all(fn: Callable[[int], None], starts: range, n_threads: int) -> None:
    if n_threads <= 1:
        for s in starts:
            fn(s)
        return
    with _blas_threads(1), ThreadPoolExecutor(max_workers=n_threads) as pool:
        for fut in [pool.submit(fn, s) for s in starts]:
            fut.result()


def search_ivf(
    X: np.ndarray,
    probes: np.ndarray,
    k1: int,
    *,
    n_threads: int = 1,
    idx_dtype: type = np.int32,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k1`` rows among the probed lists of every row.

    Parameters
    ----------
    X : ndarray of float32, shape (n, dim)
    probes : ndarray of int, shape (n, nprobe)
        From :func:`assign_lists`; ``probes[:, 0]`` defines the lists.
    k1 : int
        Entries kept per row (the row itself included).

    Returns
    -------
    nbrs : ndarray of ``idx_dtype``, shape (n, k1)
        Row numbers by decreasing similarity, ``-1`` where fewer were scanned.
    sims : ndarray of float32, shape (n, k1)
        Their inner products (``-inf`` for ``-1``).
    """
    n = X.shape[0]
    layout = ListLayout.build(X, probes)
    nbrs: np.ndarray = np.empty((n, k1), dtype=idx_dtype)
    sims = np.empty((n, k1), dtype=np.float32)
    done = [0]

    def run(s: int) -> None:
        e = min(s + CHUNK, n)
        dest, ids, cd = search_chunk(layout, s, e, k1)
        nbrs[dest] = ids
        sims[dest] = cd
        done[0] += e - s
        if progress is not None:
            progress(done[0], n)

    _run_all(run, range(0, n, CHUNK), n_threads)
    return nbrs, sims


@dataclass(frozen=True)
class ListLayout:
    """Rows sorted by list: list ``c`` is ``Xs[bounds[c]:bounds[c + 1]]``; ``order[i]`` is the
    original row of sorted row ``i``; ``probes`` are the sorted rows' probed lists."""

    Xs: np.ndarray
    probes: np.ndarray
    bounds: np.ndarray
    order: np.ndarray

    @classmethod
    def build(cls, X: np.ndarray, probes: np.ndarray) -> ListLayout:
        n = X.shape[0]
        primary = probes[:, 0].astype(np.int64)
        order = np.argsort(primary, kind="stable")
        nlist = int(probes.max()) + 1 if n else 0
        bounds = np.zeros(nlist + 1, dtype=np.int64)
        np.cumsum(np.bincount(primary, minlength=nlist), out=bounds[1:])
        return cls(X[order], probes[order], bounds, order)


def search_chunk(layout: ListLayout, s: int, e: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Search sorted rows ``s:e``: ``(rows, nbrs, sims)`` with ``rows`` their original numbers
    and ``nbrs``/``sims`` of shape ``(e - s, k1)`` as in :func:`search_ivf` (``nbrs`` int64)."""
    Xs, bounds = layout.Xs, layout.bounds
    n = Xs.shape[0]
    nprobe = layout.probes.shape[1]
    pos_dtype = np.int32 if n < 2**31 else np.int64
    m = e - s
    Q = Xs[s:e]
    cand_d = np.full((m, nprobe, k1), -np.inf, dtype=np.float32)
    cand_i = np.full((m, nprobe, k1), -1, dtype=pos_dtype)
    flat = layout.probes[s:e].astype(np.int64).ravel()
    by_list = np.argsort(flat, kind="stable")
    lists, starts = np.unique(flat[by_list], return_index=True)
    ends = np.append(starts[1:], flat.shape[0])
    for c, a, b in zip(lists.tolist(), starts.tolist(), ends.tolist(), strict=True):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        if hi == lo:
            continue
        pos = by_list[a:b]
        rows, slots = pos // nprobe, pos % nprobe
        S = Q[rows] @ Xs[lo:hi].T
        width = hi - lo
        if width > k1:
            top = np.argpartition(S, width - k1, axis=1)[:, width - k1 :]
            cand_d[rows, slots] = np.take_along_axis(S, top, axis=1)
            cand_i[rows, slots] = top + lo
        else:
            cand_d[rows, slots, :width] = S
            cand_i[rows, slots, :width] = np.arange(lo, hi)
    cd = cand_d.reshape(m, nprobe * k1)
    ci = cand_i.reshape(m, nprobe * k1)
    width = cd.shape[1]
    if width > k1:
        top = np.argpartition(cd, width - k1, axis=1)[:, width - k1 :]
        cd = np.take_along_axis(cd, top, axis=1)
        ci = np.take_along_axis(ci, top, axis=1)
    rank = np.argsort(-cd, axis=1, kind="stable")
    cd = np.take_along_axis(cd, rank, axis=1)
    ci = np.take_along_axis(ci, rank, axis=1)
    missing = ci < 0
    ids = layout.order[np.where(missing, 0, ci)]
    ids[missing] = -1
    return layout.order[s:e], ids, cd


def ivf_knn(
    X: np.ndarray,
    k_eff: int,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
    n_threads: int = 1,
    idx_dtype: type = np.int32,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray, IvfPlan]:
    """The approximate graph rows of ``X``: ``(nbrs, sims, plan)`` with ``nbrs``/``sims`` of shape
    ``(n, k_eff)`` after dropping position 0 of each ranking (see the module docstring).
    ``progress(done, total)`` runs over three phases: training (1 step), assignment, search."""
    n = X.shape[0]
    plan = plan_ivf(n, k_eff, nlist=nlist, nprobe=nprobe, train_size=train_size)
    total = 1 + 2 * n

    def phase(offset: int) -> ProgressFn | None:
        if progress is None:
            return None
        return lambda done, _n: progress(offset + done, total)

    centroids = train_coarse(X, plan.nlist, plan.train_size, seed=seed)
    if progress is not None:
        progress(1, total)
    probes = assign_lists(X, centroids, plan.nprobe, n_threads=n_threads, progress=phase(1))
    nbrs, sims = search_ivf(X, probes, k_eff + 1, n_threads=n_threads, idx_dtype=idx_dtype, progress=phase(1 + n))
    nbrs, sims = np.ascontiguousarray(nbrs[:, 1:]), np.ascontiguousarray(sims[:, 1:])
    sims[nbrs < 0] = 0.0
    logger.debug("IVF kNN graph of %d rows: nlist=%d nprobe=%d", n, plan.nlist, plan.nprobe)
    return nbrs, sims, plan
