"""The kNN graph of `fewshot.annotate._graph` built on a Ray cluster (optional extra ``ray``).

NumPy in, `KnnGraph` out: the same CSR-ready dense-row structure, the same neighbour rule, and
for the exact path the same canonical graph as the single-process `build_knn_graph` (so vote-k
on it picks identical items).

Exact (``exact=True``): the pool is put once in Ray's object store; one task per (query block x
index shard) runs FAISS ``knn`` (one thread per task) for the block's ``k + 1 + margin`` best rows
of the shard, and one merge task per query block keeps the best of its shards. The driver consumes
the merged blocks in order (while later ones are still computed) and runs the float64 near-tie
resolution of `fewshot.annotate._graph_exact.search_exact` on them; the rare wider re-search
that resolution may need runs locally.

IVF (``exact=False``): the coarse quantizer is trained and the rows assigned on the driver (see
`fewshot.annotate._graph_ivf`); the rows sorted by list are put in the object store and each chunk
of sorted rows is searched by one task (`search_chunk`), so the lists are read by every worker
from the shared object store.

Costs: the driver holds the pool and the graph (``n x k`` int32 + float32); each node holds one
copy of the pool in its object store. See README "Scaling".
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import numpy as np

from fewshot.annotate._base import ProgressCallback
from fewshot.annotate._graph import KnnGraph, _drop_self_edges
from fewshot.annotate._graph_exact import MARGIN, search_exact
from fewshot.annotate._graph_ivf import CHUNK, ListLayout, assign_lists, plan_ivf, search_chunk, train_coarse
from fewshot.exceptions import InvalidInputError, MissingDependencyError

__all__ = ["build_knn_graph_ray"]

logger = logging.getLogger(__name__)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", extra="ray") from None
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=False)
    return ray


def _shard_knn(X: np.ndarray, q0: int, q1: int, s0: int, s1: int, kf: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(1)
    kk = min(kf, s1 - s0)
    D, I = faiss.knn(X[q0:q1], X[s0:s1], kk, faiss.METRIC_INNER_PRODUCT)
    I += s0
    return D, I


def _merge(kf: int, *parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    D = np.concatenate([p[0] for p in parts], axis=1)
    I = np.concatenate([p[1] for p in parts], axis=1)
    width = D.shape[1]
    if width > kf:
        top = np.argpartition(-D, kf - 1, axis=1)[:, :kf]
        D, I = np.take_along_axis(D, top, axis=1), np.take_along_axis(I, top, axis=1)
    order = np.argsort(-D, axis=1, kind="stable")
    return np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)


def _ivf_chunk(layout: ListLayout, s: int, e: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return search_chunk(layout, s, e, k1)
    with threadpool_limits(limits=1, user_api="blas"):
        return search_chunk(layout, s, e, k1)


def build_knn_graph_ray(
    X: np.ndarray,
    k: int,
    *,
    exact: bool = True,
    query_block: int = 16_384,
    n_shards: int | None = None,
    nlist: int | None = None,
    nprobe: int | None = None,
    max_in_flight: int | None = None,
    progress: ProgressCallback | None = None,
) -> KnnGraph:
    """The kNN graph of the rows of ``X`` computed by Ray tasks.

    Parameters
    ----------
    X : ndarray of float32, shape (n, dim)
        Unit rows (see :func:`prepare_vectors`).
    k : int
        Neighbours per row (capped at ``n - 1``).
    exact : bool
        Exact blocked search (canonical, equal to ``build_knn_graph(X, k, exact=True)``) or IVF.
    query_block : int
        Query rows per exact task (and per resolution block on the driver).
    n_shards : int, optional
        Index shards of the exact search (default: the cluster's CPUs, at most ``n / 1024``).
    nlist, nprobe : int, optional
        IVF settings (see :func:`fewshot.annotate._graph_ivf.plan_ivf`).
    max_in_flight : int, optional
        Query blocks submitted ahead of the one the driver is resolving (default: 2 x CPUs).

    Raises
    ------
    MissingDependencyError
        Without the ``ray`` extra. Connects to a local Ray (``ray.init()``) unless the process
        already is connected.
    """
    ray = _ray()
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InvalidInputError(f"X must be a 2-d array; got shape {X.shape}")
    n = X.shape[0]
    k_eff = min(int(k), n - 1)
    idx_dtype = np.int32 if n < 2**31 else np.int64
    if k_eff <= 0:
        return KnnGraph(np.zeros((n, 0), idx_dtype), np.zeros((n, 0), np.float32), "ip", bool(exact), None)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    ahead = max_in_flight or 2 * cpus
    if exact:
        return _exact(ray, X, k_eff, query_block, n_shards or max(1, min(cpus, n // 1024)), ahead, idx_dtype, progress)
    return _ivf(ray, X, k_eff, nlist, nprobe, ahead, idx_dtype, progress)


def _exact(ray, X, k_eff, query_block, n_shards, ahead, idx_dtype, progress) -> KnnGraph:
    import faiss

    n = X.shape[0]
    kf = min(k_eff + 1 + MARGIN, n)
    x_ref = ray.put(X)
    shard_task = ray.remote(num_cpus=1)(_shard_knn)
    merge_task = ray.remote(num_cpus=1)(_merge)
    edges = np.linspace(0, n, n_shards + 1).astype(np.int64)
    starts = list(range(0, n, query_block))
    pending: deque = deque()
    submitted = 0

    def submit(i: int) -> None:
        q0 = starts[i]
        q1 = min(q0 + query_block, n)
        parts = [shard_task.remote(x_ref, q0, q1, int(a), int(b), kf) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        pending.append((q0, merge_task.remote(kf, *parts)))

    while submitted < min(ahead, len(starts)):
        submit(submitted)
        submitted += 1

    def first(s: int, q: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        nonlocal submitted
        q0, ref = pending.popleft()
        if submitted < len(starts):
            submit(submitted)
            submitted += 1
        assert q0 == s and want == kf, (q0, s, want, kf)
        D, I = ray.get(ref)  # read-only views of the object store; the resolution edits them
        return np.array(D), np.array(I)

    index = faiss.IndexFlatIP(X.shape[1])  # only for the rare wider re-searches of tie rows
    index.add(X)
    nbrs, sims, err = search_exact(index.search, X, k_eff, query_block, progress, idx_dtype, first=first)
    del index
    return _drop_self_edges(nbrs, sims, "ip", err)


def _ivf(ray, X, k_eff, nlist, nprobe, ahead, idx_dtype, progress) -> KnnGraph:
    n = X.shape[0]
    plan = plan_ivf(n, k_eff, nlist=nlist, nprobe=nprobe)
    centroids = train_coarse(X, plan.nlist, plan.train_size)
    probes = assign_lists(X, centroids, plan.nprobe, n_threads=1)
    layout_ref = ray.put(ListLayout.build(X, probes))
    task = ray.remote(num_cpus=1)(_ivf_chunk)
    k1 = k_eff + 1
    nbrs = np.empty((n, k1), dtype=idx_dtype)
    sims = np.empty((n, k1), dtype=np.float32)
    starts = list(range(0, n, CHUNK))
    in_flight: list = []
    done = 0
    for s in starts:
        in_flight.append(task.remote(layout_ref, s, min(s + CHUNK, n), k1))
        while len(in_flight) >= ahead or (s == starts[-1] and in_flight):
            ready, in_flight = ray.wait(in_flight, num_returns=1)
            dest, ids, cd = ray.get(ready[0])
            nbrs[dest], sims[dest] = ids, cd
            done += len(dest)
            if progress is not None:
                progress(done, n)
    del layout_ref
    nb, sm = np.ascontiguousarray(nbrs[:, 1:]), np.ascontiguousarray(sims[:, 1:])
    sm[nb < 0] = 0.0
    logger.debug("IVF kNN graph on Ray: %s", plan)
    return _drop_self_edges(nb, sm, "ip", None)
