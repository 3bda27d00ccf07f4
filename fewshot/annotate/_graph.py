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
Approximate graphs (HNSW, used above ``exact_threshold`` items or with ``exact=False``) carry
``sim_error=None``. No ``n x n`` matrix is ever built.

On a GPU (``device="cuda"``, or by default when torch sees one and the pool has at least
``GPU_MIN_ITEMS`` items) the exact search runs as blocked float32 matrix products and ``topk`` in
torch (TF32 off, so the same error bound holds) and the same float64 near-tie resolution follows:
the graph is identical to the CPU one. Exact search is then affordable far beyond
``exact_threshold`` (``GPU_EXACT_THRESHOLD``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from fewshot.annotate._base import ProgressCallback
from fewshot.exceptions import InvalidInputError

__all__ = ["KnnGraph", "build_knn_graph", "canonical_ip", "reverse_edges", "faiss_threads", "resolve_graph_device"]

logger = logging.getLogger(__name__)

#: Above this many items ``build_knn_graph(exact=None)`` uses HNSW instead of a flat index.
EXACT_THRESHOLD = 200_000
_MARGIN = 8  # extra candidates fetched beyond k + 1 to resolve near-ties at the boundary
#: With ``device=None``, pools of at least this many items use a CUDA GPU when torch sees one.
GPU_MIN_ITEMS = 20_000
#: On a GPU, ``exact=None`` means exact search up to this many items.
GPU_EXACT_THRESHOLD = 5_000_000
#: Bytes of the (block x n) similarity matrix a torch search holds at once.
_TORCH_BLOCK_BYTES = {"cuda": 2 * 2**30, "cpu": 256 * 2**20}


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


# -- exact similarities ---------------------------------------------------------------------

def canonical_ip(X: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Float64 inner products of float32 rows, computed the canonical way.

    Products of two float32 numbers are exact in float64; the row sums use NumPy's
    fixed pairwise order, so the result depends only on the two rows' values (duplicates tie
    exactly). The slow research reference computes its cosines the same way.
    """
    out = np.empty(len(rows), dtype=np.float64)
    step = max(1, (1 << 21) // max(1, X.shape[1]))
    for s in range(0, len(rows), step):
        a = X[rows[s:s + step]].astype(np.float64)
        a *= X[cols[s:s + step]]
        out[s:s + step] = a.sum(axis=1)
    return out


def float32_ip_error(X: np.ndarray) -> float:
    """Bound on |float32 inner product - exact| for rows of X (any summation order)."""
    max_norm2 = 0.0
    for s in range(0, X.shape[0], 65_536):
        blk = X[s:s + 65_536].astype(np.float64)
        max_norm2 = max(max_norm2, float(np.einsum("ij,ij->i", blk, blk).max()))
    return 1.01 * X.shape[1] * 2.0 ** -24 * max_norm2 + 1e-12


# -- graph construction ---------------------------------------------------------------------

def resolve_graph_device(device: str | None, n: int) -> str | None:
    """The torch device for an exact graph search, or None for FAISS on the CPU.

    ``None``/``"auto"``: ``"cuda"`` when torch is installed, sees a GPU and ``n >= GPU_MIN_ITEMS``;
    ``"cpu"``: FAISS; ``"cuda"``/``"cuda:N"``: torch on that GPU (an error if there is none);
    ``"torch:<device>"``: the torch search on any torch device (e.g. ``"torch:cpu"``, for tests).
    """
    if device is None or device == "auto":
        if n < GPU_MIN_ITEMS or importlib.util.find_spec("torch") is None:
            return None
        import torch

        return "cuda" if torch.cuda.is_available() else None
    if not isinstance(device, str):
        raise InvalidInputError(f"device must be a string such as 'cpu' or 'cuda'; got {device!r}")
    if device == "cpu":
        return None
    name = device[len("torch:"):] if device.startswith("torch:") else device
    if not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'torch:<device>'; "
                                f"got {device!r}")
    if importlib.util.find_spec("torch") is None:
        raise InvalidInputError(f"device {device!r} needs torch, which is not installed")
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInputError(f"device {device!r} was asked for but torch sees no CUDA GPU")
    return name


def build_knn_graph(X: np.ndarray, k: int, *, exact: bool | None = None, metric: str = "ip",
                    block_size: int = 4096, n_threads: int | None = None,
                    exact_threshold: int = EXACT_THRESHOLD, hnsw_m: int = 16,
                    ef_construction: int = 40, ef_search: int | None = None,
                    device: str | None = None,
                    progress: ProgressCallback | None = None) -> KnnGraph:
    """Build the k-nearest-neighbour graph of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of float32, shape (n_examples, dim), C-contiguous
        Unit rows (see :func:`prepare_vectors`); inner product is cosine similarity.
    k : int
        Neighbours per item; capped at ``n_examples - 1``.
    exact : bool, optional
        ``True``: exhaustive ``IndexFlatIP`` search, canonical result. ``False``: HNSW.
        ``None`` (default): exact up to ``exact_threshold`` items, HNSW above.
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
    k_eff = min(int(k), n - 1)
    torch_device = None if exact is False else resolve_graph_device(device, n)
    if exact is None:
        exact = n <= (max(exact_threshold, GPU_EXACT_THRESHOLD) if torch_device is not None
                      and torch_device.startswith("cuda") else exact_threshold)
    if not exact:
        torch_device = None
    idx_dtype = np.int32 if n < 2 ** 31 else np.int64
    if k_eff <= 0:
        return KnnGraph(np.zeros((n, 0), idx_dtype), np.zeros((n, 0), np.float32), metric,
                        bool(exact), None)
    if torch_device is not None:
        search, block = _torch_search(X, torch_device)
        with _no_tf32():
            nbrs, sims, err = _search_exact(search, X, k_eff, min(block_size, block), progress, idx_dtype)
        logger.debug("exact kNN graph of %d items searched with torch on %s", n, torch_device)
        return _drop_self_edges(nbrs, sims, metric, err)
    with faiss_threads(n_threads):
        if exact:
            index = faiss.IndexFlatIP(d)
            index.add(X)
            nbrs, sims, err = _search_exact(index.search, X, k_eff, block_size, progress, idx_dtype)
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
        logger.debug("%d item(s) were outranked by a duplicate; their self edge is dropped",
                     int(self_edge.sum()))
        nbrs[self_edge] = -1
        sims[self_edge] = 0.0
    return KnnGraph(nbrs, sims, metric, err is not None, err)


SearchFn = Callable[[np.ndarray, int], "tuple[np.ndarray, np.ndarray]"]


@contextlib.contextmanager
def _no_tf32() -> Iterator[None]:
    """Full float32 matrix products on GPUs (TF32 would void the float32 error bound)."""
    import torch

    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def _torch_search(X: np.ndarray, device: str) -> tuple[SearchFn, int]:
    """``search(queries, kf) -> (D, I)`` over all rows of ``X`` by exact float32 inner products on
    a torch device, plus the largest query block that keeps the similarity block in budget."""
    import torch

    base = torch.from_numpy(np.ascontiguousarray(X)).to(device)
    n = base.shape[0]
    block = max(1, _TORCH_BLOCK_BYTES["cuda" if device.startswith("cuda") else "cpu"] // (4 * n))

    def search(q: np.ndarray, kf: int) -> tuple[np.ndarray, np.ndarray]:
        D = np.empty((q.shape[0], kf), dtype=np.float32)
        I = np.empty((q.shape[0], kf), dtype=np.int64)
        for s in range(0, q.shape[0], block):
            qt = torch.from_numpy(np.ascontiguousarray(q[s:s + block])).to(device)
            vals, idx = torch.topk(qt @ base.T, kf, dim=1, largest=True, sorted=True)
            D[s:s + block] = vals.cpu().numpy()
            I[s:s + block] = idx.cpu().numpy()
        return D, I

    return search, block


def _add_in_chunks(index, X: np.ndarray, progress: ProgressCallback | None) -> None:
    n = X.shape[0]
    step = 50_000
    for s in range(0, n, step):
        index.add(X[s:s + step])
        if progress is not None:
            progress(min(s + step, n), 2 * n)


def _search_approx(index, X, k_eff, block_size, progress, idx_dtype):
    n = X.shape[0]
    nbrs = np.empty((n, k_eff), dtype=idx_dtype)
    sims = np.empty((n, k_eff), dtype=np.float32)
    for s in range(0, n, block_size):
        D, I = index.search(X[s:s + block_size], k_eff + 1)
        nbrs[s:s + block_size] = I[:, 1:]
        sims[s:s + block_size] = D[:, 1:]
        if progress is not None:
            progress(n + min(s + block_size, n), 2 * n)
    sims[nbrs < 0] = 0.0
    return nbrs, sims


def _search_exact(search: SearchFn, X, k_eff, block_size, progress, idx_dtype):
    """Exhaustive search plus float64 resolution of the near-ties that change the graph.

    Positions 0..k_eff of each ranking are needed: position 0 is dropped and 1..k_eff kept.
    Two places can be wrong in float32: which entry is first (ties with position 1) and which
    entries make the cut (ties across positions k_eff / k_eff+1). A run of consecutive
    candidates whose float32 gaps are all <= 2 * error is re-ranked by :func:`canonical_ip`.
    """
    n, d = X.shape
    err = float32_ip_error(X)
    tol = 2.0 * err
    K1 = k_eff + 1
    nbrs = np.empty((n, k_eff), dtype=idx_dtype)
    sims = np.empty((n, k_eff), dtype=np.float32)
    n_fixed = 0
    for s in range(0, n, block_size):
        q = X[s:s + block_size]
        Kf = min(K1 + _MARGIN, n)
        D, I = search(q, Kf)
        rows = np.arange(s, s + q.shape[0])
        pending = _ambiguous_rows(D, K1, tol)
        while pending.size:
            # Resolve each ambiguous row; rows whose tie run reaches the last fetched candidate
            # are searched again with twice as many candidates.
            again = []
            for r in pending.tolist():
                if not _resolve_row(X, rows[r], D[r], I[r], K1, tol, more_exist=Kf < n):
                    again.append(r)
                else:
                    n_fixed += 1
            if not again:
                break
            Kf = min(2 * Kf, n)
            sub = np.asarray(again)
            D2, I2 = search(q[sub], Kf)
            D = _widen(D, Kf, np.float32, -np.inf)
            I = _widen(I, Kf, np.int64, -1)
            D[sub], I[sub] = D2, I2
            pending = sub
        nbrs[s:s + q.shape[0]] = I[:, 1:K1]
        sims[s:s + q.shape[0]] = D[:, 1:K1]
        if progress is not None:
            progress(min(s + block_size, n), n)
    logger.debug("exact kNN graph: %d row(s) had float32 near-ties re-ranked in float64", n_fixed)
    return nbrs, sims, err


def _widen(A: np.ndarray, width: int, dtype, fill) -> np.ndarray:
    if A.shape[1] >= width:
        return A
    out = np.full((A.shape[0], width), fill, dtype=dtype)
    out[:, :A.shape[1]] = A
    return out


def _ambiguous_rows(D: np.ndarray, K1: int, tol: float) -> np.ndarray:
    """Rows with a near-tie at the top (positions 0/1) or at the cut (K1-1 / K1)."""
    amb = np.zeros(D.shape[0], dtype=bool)
    if D.shape[1] >= 2 and K1 >= 2:
        amb |= (D[:, 0] - D[:, 1]) <= tol
    if K1 < D.shape[1]:
        amb |= (D[:, K1 - 1] - D[:, K1]) <= tol
    return np.flatnonzero(amb)


def _resolve_row(X, v, D, I, K1, tol, more_exist) -> bool:
    """Re-rank the tie runs around positions 0/1 and K1-1/K1 of one row in place.

    Returns False when a tie run reaches the last fetched candidate while more exist (the
    caller then fetches more).
    """
    Kf = D.shape[0]
    gaps = D[:-1] - D[1:]
    close = gaps <= tol  # close[j]: positions j and j+1 are within the error
    segments = []
    for pos in (0, K1 - 1):
        if pos + 1 >= Kf or not close[pos]:
            continue
        lo = pos
        while lo > 0 and close[lo - 1]:
            lo -= 1
        hi = pos + 1
        while hi < Kf - 1 and close[hi]:
            hi += 1
        if hi == Kf - 1 and more_exist:
            return False
        segments.append((lo, hi))
    if not segments:
        return True
    segments.sort()
    merged = [segments[0]]
    for lo, hi in segments[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    for lo, hi in merged:
        cand = I[lo:hi + 1].astype(np.int64)
        valid = cand >= 0
        cand = cand[valid]
        exact = canonical_ip(X, np.full(cand.shape[0], v), cand)
        order = np.lexsort((-cand, -exact))  # decreasing similarity, then decreasing index
        m = cand.shape[0]
        I[lo:lo + m] = cand[order]
        D[lo:lo + m] = exact[order].astype(np.float32)
    return True


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
    idx_dtype = np.int32 if max(n, n * k) < 2 ** 31 else np.int64
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
        data = (np.arange(n * k, dtype=np.int64) if all_valid
                else np.flatnonzero(valid).astype(np.int64))
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
