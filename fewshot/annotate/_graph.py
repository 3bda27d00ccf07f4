"""k-nearest-neighbour graphs over unit vectors, built once with FAISS.

A :class:`KnnGraph` holds, for every item ``v``, the ``k`` items that follow the single most
similar entry of ``v``'s ranking (normally ``v`` itself), by decreasing inner product. This is the
neighbour rule of the vote-k and IDEAL research code (positions ``[-k-1:-1]`` of an ascending
argsort); an entry equal to ``v`` that survives (``v`` has an exact duplicate that outranked it)
is replaced by ``-1``, as are missing entries.

Exact graphs (``IndexFlatIP`` searched block by block) are *canonical*: which entry is dropped
and which ``k`` are kept are decided by the float64 inner product of the float32 rows, ties broken
by the larger row number first (the order of ``np.argsort(..., kind="stable")[-k-1:-1]``). FAISS
computes in float32; its error is bounded by ``1.01 * dim * 2**-24 * max_norm**2``
(``KnnGraph.sim_error``), so only runs of candidates closer than twice that bound around those two
cuts are re-ranked in float64 (:func:`canonical_ip`). Inside a row, entries are in FAISS's float32
order, which can differ from the float64 order only between entries closer than
``2 * sim_error``; consumers that depend on that order (vote-k's first-vote order) re-rank them.
Approximate graphs (used above ``exact_threshold`` items or with ``exact=False``) carry
``sim_error=None``; they come from an inverted file (``approx="ivf"``, the default: a k-means
coarse quantizer, each row scanning its ``nprobe`` nearest lists with matrix products, see
`fewshot.annotate._graph_ivf`) or from HNSW (``approx="hnsw"``). No ``n x n`` matrix is ever
built.

On a GPU (``device="cuda"``, or by default when torch sees one and the pool has at least
``GPU_MIN_ITEMS`` items) the exact search runs as blocked float32 matrix products and ``topk`` in
torch (TF32 off, so the same error bound holds) and the same float64 near-tie resolution follows:
the graph is identical to the CPU one. Exact search is then affordable far beyond
``exact_threshold`` (``GPU_EXACT_THRESHOLD``).

This module builds the graph (and runs the approximate HNSW search); the exact search and its
near-tie resolution live in `fewshot.annotate._graph_exact`, the torch search in
`fewshot.annotate._graph_torch`, the IVF search in `fewshot.annotate._graph_ivf`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.annotate._base import ProgressCallback, check_bool, check_optional_int
from fewshot.annotate._graph_exact import search_exact
from fewshot.annotate._graph_ivf import ivf_knn
from fewshot.annotate._graph_torch import GPU_EXACT_THRESHOLD, no_tf32, resolve_graph_device, torch_search
from fewshot.exceptions import InvalidInputError

__all__ = [
    "APPROX_METHODS",
    "KnnGraph",
    "build_knn_graph",
    "approx_kwargs",
    "approx_params",
    "check_approx_params",
    "check_graph_params",
    "graph_from_params",
    "reverse_edges",
    "faiss_threads",
    "resolve_graph_device",
]

logger = logging.getLogger(__name__)

#: Above this many items ``build_knn_graph(exact=None)`` builds the approximate graph (``approx``).
EXACT_THRESHOLD = 200_000
#: Approximate search methods of ``build_knn_graph(approx=...)``; the first is the default.
APPROX_METHODS = ("ivf", "hnsw")


@dataclass(frozen=True)
class KnnGraph:
    """Directed k-nearest-neighbour graph in dense-row (fixed out-degree) form.

    Attributes
    ----------
    neighbors : ndarray of int32 (int64 if n >= 2**31), shape (n, k)
        ``neighbors[v]`` are v's neighbours by decreasing similarity; ``-1`` marks no edge.
    similarities : ndarray of float32, shape (n, k)
        Inner products (cosines for unit rows) matching ``neighbors``.
    metric : str
        ``"ip"`` (inner product).
    exact : bool
        Whether the graph came from an exhaustive search.
    sim_error : float or None
        For exact graphs, a bound on ``|similarities - exact inner product|``.
    """

    neighbors: np.ndarray
    similarities: np.ndarray
    metric: str = "ip"
    exact: bool = True
    sim_error: float | None = None

    @property
    def n(self) -> int:
        return int(self.neighbors.shape[0])

    @property
    def k(self) -> int:
        return int(self.neighbors.shape[1])

    @property
    def n_edges(self) -> int:
        return int(np.count_nonzero(self.neighbors >= 0))


# -- threads --------------------------------------------------------------------------------


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def faiss_threads(n_threads: int | None) -> Iterator[int]:
    """Run FAISS with ``n_threads`` OpenMP threads (default: its setting, capped at the CPUs
    this process may use), restoring the previous setting afterwards."""
    import faiss

    before = faiss.omp_get_max_threads()
    wanted = min(before, available_cpus()) if n_threads is None else int(n_threads)
    faiss.omp_set_num_threads(max(1, wanted))
    try:
        yield max(1, wanted)
    finally:
        faiss.omp_set_num_threads(before)


# -- graph construction ---------------------------------------------------------------------


def check_approx_params(approx: object, nlist: object, nprobe: object) -> dict[str, object]:
    """Validated approximate-graph settings of a selection method, as keyword arguments of
    :func:`build_knn_graph`: ``{"approx": ..., "nlist": ..., "nprobe": ...}`` (``None``: the default).

    Raises `InvalidInputError` naming the field for an unknown ``approx`` or a non-positive count.

    Examples
    --------
    >>> check_approx_params("ivf", None, 32)
    {'approx': 'ivf', 'nlist': None, 'nprobe': 32}
    """
    if approx is not None and approx not in APPROX_METHODS:
        raise InvalidInputError(f"approx must be one of {', '.join(APPROX_METHODS)}; got {approx!r}")
    out: dict[str, object] = {"approx": approx}
    for name, value in (("nlist", nlist), ("nprobe", nprobe)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise InvalidInputError(f"{name} must be a positive integer; got {value!r}")
        out[name] = None if value is None else int(value)
    return out


def approx_params(strategy: Any) -> dict[str, Any]:
    """The approximate-graph settings a selection method records in its params: ``approx``,
    ``nlist`` and ``nprobe`` where set (checked by :func:`check_approx_params`), and
    ``exact=False`` when any is given without ``exact`` (asking for an approximate search asks
    for an approximate graph). Reads the attributes ``approx``, ``nlist``, ``nprobe`` and
    ``exact`` of ``strategy``.

    Raises `InvalidInputError` for ``exact=True`` with any of them set, and for ``nlist`` or
    ``nprobe`` with ``approx="hnsw"``.
    """
    checked = check_approx_params(
        getattr(strategy, "approx", None), getattr(strategy, "nlist", None), getattr(strategy, "nprobe", None)
    )
    out: dict[str, Any] = {name: value for name, value in checked.items() if value is not None}
    if out and getattr(strategy, "exact", None) is True:
        raise InvalidInputError(f"{', '.join(out)} set an approximate graph; they cannot be used with exact=True")
    ivf_only = [name for name in ("nlist", "nprobe") if name in out]
    if ivf_only and out.get("approx", APPROX_METHODS[0]) != "ivf":
        raise InvalidInputError(f"{', '.join(ivf_only)} are IVF settings; approx is {out['approx']!r}")
    if out and getattr(strategy, "exact", None) is None:
        out["exact"] = False
    return out


def approx_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """``approx``, ``nlist`` and ``nprobe`` of checked selection params (``None`` where unset), as
    keyword arguments of :func:`build_knn_graph`."""
    return {name: params.get(name) for name in ("approx", "nlist", "nprobe")}


def check_graph_params(strategy: Any) -> dict[str, Any]:
    """The graph settings a graph-based selection method records in its params, checked:
    ``exact`` (bool or None), ``n_threads``, ``device`` and, where the method has them, the
    approximate-graph settings of :func:`approx_params` (which may set ``exact=False``).
    Reads the attributes of the same names of ``strategy``; ``exact_threshold`` is the
    method's own (not every method has one)."""
    exact = getattr(strategy, "exact", None)
    params: dict[str, Any] = {
        "exact": None if exact is None else check_bool(exact, "exact"),
        "n_threads": check_optional_int(getattr(strategy, "n_threads", None), "n_threads"),
        "device": getattr(strategy, "device", None),
    }
    params.update(approx_params(strategy))
    return params


def graph_from_params(
    Z: np.ndarray, k: int, params: Mapping[str, Any], progress: ProgressCallback | None = None
) -> KnnGraph:
    """:func:`build_knn_graph` of ``Z`` with ``k`` neighbours and the checked settings of
    :func:`check_graph_params` (plus ``exact_threshold`` where ``params`` holds one)."""
    extra = {"exact_threshold": params["exact_threshold"]} if "exact_threshold" in params else {}
    return build_knn_graph(
        Z,
        k,
        exact=params["exact"],
        n_threads=params["n_threads"],
        device=params["device"],
        progress=progress,
        **extra,
        **approx_kwargs(params),
    )


def build_knn_graph(
    X: np.ndarray,
    k: int,
    *,
    exact: bool | None = None,
    metric: str = "ip",
    block_size: int = 4096,
    n_threads: int | None = None,
    exact_threshold: int = EXACT_THRESHOLD,
    hnsw_m: int = 16,
    ef_construction: int = 40,
    ef_search: int | None = None,
    approx: str | None = None,
    nlist: int | None = None,
    nprobe: int | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> KnnGraph:
    """Build the k-nearest-neighbour graph of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of float32, shape (n_examples, dim), C-contiguous
        Unit rows (see :func:`prepare_vectors`); inner product is cosine similarity.
    k : int
        Neighbours per item; capped at ``n_examples - 1``.
    exact : bool, optional
        ``True``: exhaustive ``IndexFlatIP`` search, canonical result. ``False``: approximate
        (``approx``). ``None`` (default): exact up to ``exact_threshold`` items, approximate above.
    metric : {"ip"}
        Only inner product is supported.
    block_size : int
        Queries per FAISS search call.
    n_threads : int, optional
        FAISS threads (default: all CPUs available to the process).
    hnsw_m, ef_construction, ef_search : int
        HNSW settings (``ef_search`` defaults to ``max(k + 17, 64)``). The defaults favour
        speed (about 4-5 minutes for a 1M x 384 vote-k graph on 2 cores); raise ``hnsw_m`` and
        ``ef_search`` for better recall.
    approx : {"ivf", "hnsw"}, optional
        The approximate search (default ``"ivf"``: on 100k x 384 clustered vectors with k=150,
        about 10x faster than HNSW on 2 cores with better recall, 0.98 against 0.94; see
        ``benchmarks/bench_graph_ivf.py``).
    nlist, nprobe : int, optional
        IVF lists and lists scanned per row (see :func:`fewshot.annotate._graph_ivf.plan_ivf`:
        ``2 * sqrt(n)`` lists and about ``16 * (k + 1)`` scanned rows by default); raise
        ``nprobe`` for better recall.
    device : str, optional
        Where the exact search runs (see :func:`resolve_graph_device`): by default a CUDA GPU
        for pools of ``GPU_MIN_ITEMS`` items or more when torch sees one, else FAISS on the CPU.
        On a GPU, ``exact=None`` means exact up to ``GPU_EXACT_THRESHOLD`` items.
    progress : callable, optional
        ``progress(rows_done, n_examples)``.

    Returns
    -------
    KnnGraph
    """
    import faiss

    if metric != "ip":
        raise InvalidInputError(f"metric must be 'ip' (inner product); got {metric!r}")
    n, d = X.shape
    approx = APPROX_METHODS[0] if approx is None else approx
    if approx not in APPROX_METHODS:
        raise InvalidInputError(f"approx must be one of {', '.join(APPROX_METHODS)}; got {approx!r}")
    k_eff = min(int(k), n - 1)
    torch_device = None if exact is False else resolve_graph_device(device, n)
    if exact is None:
        exact = n <= (
            max(exact_threshold, GPU_EXACT_THRESHOLD)
            if torch_device is not None and torch_device.startswith("cuda")
            else exact_threshold
        )
    if not exact:
        torch_device = None
    idx_dtype = np.int32 if n < 2**31 else np.int64
    if k_eff <= 0:
        return KnnGraph(np.zeros((n, 0), idx_dtype), np.zeros((n, 0), np.float32), metric, bool(exact), None)
    if torch_device is not None:
        search, block = torch_search(X, torch_device)
        with no_tf32():
            nbrs, sims, err = search_exact(search, X, k_eff, min(block_size, block), progress, idx_dtype)
        logger.debug("exact kNN graph of %d items searched with torch on %s", n, torch_device)
        return _drop_self_edges(nbrs, sims, metric, err)
    with faiss_threads(n_threads) as threads:
        if not exact and approx == "ivf":
            nbrs, sims, plan = ivf_knn(
                X, k_eff, nlist=nlist, nprobe=nprobe, n_threads=threads, idx_dtype=idx_dtype, progress=progress
            )
            logger.debug("IVF kNN graph: %s", plan)
            return _drop_self_edges(nbrs, sims, metric, None)
        if exact:
            index = faiss.IndexFlatIP(d)
            index.add(X)
            nbrs, sims, err = search_exact(index.search, X, k_eff, block_size, progress, idx_dtype)
        else:
            index = faiss.IndexHNSWFlat(d, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(ef_construction)
            _add_in_chunks(index, X, progress)
            index.hnsw.efSearch = int(ef_search or max(k_eff + 17, 64))
            nbrs, sims = _search_approx(index, X, k_eff, block_size, progress, idx_dtype)
            err = None
        del index
    return _drop_self_edges(nbrs, sims, metric, err)


def _drop_self_edges(nbrs: np.ndarray, sims: np.ndarray, metric: str, err: float | None) -> KnnGraph:
    rows = np.arange(nbrs.shape[0], dtype=nbrs.dtype)[:, None]
    self_edge = nbrs == rows
    if self_edge.any():
        logger.debug("%d item(s) were outranked by a duplicate; their self edge is dropped", int(self_edge.sum()))
        nbrs[self_edge] = -1
        sims[self_edge] = 0.0
    return KnnGraph(nbrs, sims, metric, err is not None, err)


def _add_in_chunks(index, X: np.ndarray, progress: ProgressCallback | None) -> None:
    n = X.shape[0]
    step = 50_000
    for s in range(0, n, step):
        index.add(X[s : s + step])
        if progress is not None:
            progress(min(s + step, n), 2 * n)


def _search_approx(index, X, k_eff, block_size, progress, idx_dtype):
    n = X.shape[0]
    nbrs = np.empty((n, k_eff), dtype=idx_dtype)
    sims = np.empty((n, k_eff), dtype=np.float32)
    for s in range(0, n, block_size):
        D, I = index.search(X[s : s + block_size], k_eff + 1)
        nbrs[s : s + block_size] = I[:, 1:]
        sims[s : s + block_size] = D[:, 1:]
        if progress is not None:
            progress(n + min(s + block_size, n), 2 * n)
    sims[nbrs < 0] = 0.0
    return nbrs, sims


# -- reversed edges -------------------------------------------------------------------------


def reverse_edges(neighbors: np.ndarray, *, with_edge_ids: bool = False):
    """In-edges of every node, sources ascending.

    Parameters
    ----------
    neighbors : ndarray of int, shape (n, k)
        Out-neighbours, ``-1`` for none.
    with_edge_ids : bool
        Also return, for each in-edge, its flat position ``v * k + j`` in ``neighbors``.

    Returns
    -------
    indptr : ndarray of int64, shape (n + 1,)
    sources : ndarray of int32 (or int64), shape (n_edges,)
        ``sources[indptr[u]:indptr[u + 1]]`` are the nodes ``v`` with an edge ``v -> u``,
        in increasing order.
    edge_ids : ndarray of int64, shape (n_edges,) (only with ``with_edge_ids``)
    """
    import scipy.sparse as sp

    n, k = neighbors.shape
    idx_dtype = np.int32 if max(n, n * k) < 2**31 else np.int64
    flat = neighbors.reshape(-1)
    valid = flat >= 0
    all_valid = bool(valid.all())
    if all_valid:
        indices = flat.astype(idx_dtype, copy=False)
        indptr = np.arange(0, n * k + 1, k, dtype=idx_dtype) if k else np.zeros(n + 1, idx_dtype)
    else:
        indices = flat[valid].astype(idx_dtype, copy=False)
        counts = valid.reshape(n, k).sum(axis=1)
        indptr = np.zeros(n + 1, dtype=idx_dtype)
        np.cumsum(counts, out=indptr[1:])
    if with_edge_ids:
        data = np.arange(n * k, dtype=np.int64) if all_valid else np.flatnonzero(valid).astype(np.int64)
    else:
        data = np.ones(indices.shape[0], dtype=np.int8)
    mat = sp.csr_matrix((data, indices, indptr), shape=(n, n), copy=False)
    csc = mat.tocsc(copy=False)
    del mat
    rev_indptr = csc.indptr.astype(np.int64)
    sources = csc.indices
    if with_edge_ids:
        return rev_indptr, sources, csc.data
    return rev_indptr, sources
