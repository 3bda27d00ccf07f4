"""The inverted-file (IVF) storage scheme behind `DenseIndex` (``kind="ivf"``).

``_IVFBackend`` wraps a FAISS ``IndexIVFFlat`` (inner product): a coarse quantizer of ``nlist``
unit centroids, trained by spherical k-means on a seeded sample of the first vectors added, sorts
the vectors into lists; a query scans the ``nprobe`` lists whose centroids are most similar to it,
about ``nprobe / nlist`` of the index, instead of all of it. Vectors are stored in full (no
compression), so the scores of the results are exact inner products; only the candidate set is
approximate. ``nprobe = nlist`` scans every list and gives exactly the flat index's top-k.

The caller's int64 ids are stored natively (``add_with_ids``), with a hash-table direct map
(``DirectMap.Hashtable``) so that `remove` deletes in place and `reconstruct` finds any id, as
``IndexIDMap2`` does for the flat index.

Training needs vectors, so the backend is created untrained and the first `add` trains the
quantizer on (a sample of) what it adds (`plan_lists` sets the number of lists and the sample
size). `DenseIndex` only creates it once it holds ``min_count`` vectors; smaller pools keep the
exact flat index (k-means on a few hundred points makes lists that are not worth probing).

Filtered search (``allowed`` ids) is in-search, as for the other backends: at most
``exact_below`` allowed ids (or ``filter_strategy="subset"``) are gathered and scored exactly;
larger sets are skipped by an ``IDSelectorBatch`` while the probed lists are scanned. A row that
comes back with fewer than ``min(k, wanted)`` results (the probed lists held too few allowed ids)
is searched again over every list, so ``k`` results come back whenever ``k`` allowed ids exist.

Inputs are clean (C-contiguous float32 vectors, unique non-negative int64 ids); `DenseIndex`
checks them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from fewshot.retrieve._faiss_backends import _exact_over, _labels_to_ids

__all__ = ["_IVFBackend", "IvfLists", "plan_lists", "DEFAULT_NPROBE", "MIN_COUNT", "MIN_POINTS_PER_LIST"]

logger = logging.getLogger(__name__)

#: Lists scanned per query by default, chosen by measurement (recall@8 against exact search for
#: SST-5 test queries; per-query search time on one thread; 2-core machine shared with other jobs):
#:
#: ========  ===============================  =============================================
#: nprobe    41,227 real MiniLM vectors        1M structured vectors (``bench_api.py
#:           (812 lists; exact 8.4 ms/query)   --vectors structured``; 4,000 lists; exact
#:                                             138.5 ms/query)
#: ========  ===============================  =============================================
#: 16        0.801, 0.38 ms                   0.718, 2.1 ms
#: 32        0.897, 0.59 ms                   0.810, 3.6 ms
#: 64        0.957, 1.32 ms                   0.896, 5.7 ms (24x faster than exact)
#: 128       0.989, 1.70 ms                   0.944, 11.1 ms
#: ========  ===============================  =============================================
#:
#: 64 keeps ~0.9-0.96 of the exact top 8 at a search cost well under the query's embedding
#: (~15-20 ms); raise it (`DenseIndex.set_nprobe`, ``ivf_nprobe``) for more recall.
DEFAULT_NPROBE = 64
#: Fewest vectors an IVF index is trained on; `DenseIndex` keeps smaller pools in the exact index.
MIN_COUNT = 5_000
#: Fewest training points per list (FAISS warns below 39: such centroids are noise).
MIN_POINTS_PER_LIST = 39
#: Training sample, in points per list (the sample is at most the whole pool).
TRAIN_PER_LIST = 50
#: Spherical k-means iterations.
NITER = 10


@dataclass(frozen=True)
class IvfLists:
    """How an IVF index over ``n`` vectors is trained: ``nlist`` lists, k-means on ``train_size``
    vectors drawn at random."""

    nlist: int
    train_size: int


def plan_lists(n: int, nlist: int | None = None) -> IvfLists:
    """Lists and training sample for a first `add` of ``n`` vectors.

    Default ``nlist = min(round(4 * sqrt(n)), n // MIN_POINTS_PER_LIST)`` (at least 1);
    ``train_size = min(n, TRAIN_PER_LIST * nlist)``. A given ``nlist`` is kept (at most ``n``).
    At 1M vectors: 4,000 lists of ~250, trained on 200,000 vectors.
    """
    if nlist is None:
        lists = max(1, min(round(4 * math.sqrt(n)), n // MIN_POINTS_PER_LIST))
    else:
        lists = max(1, min(int(nlist), n))
    return IvfLists(lists, min(n, max(TRAIN_PER_LIST * lists, lists)))


def _spherical_centroids(vectors: np.ndarray, plan: IvfLists, seed: int) -> np.ndarray:
    """Unit centroids (nlist, d) float32: spherical k-means on ``plan.train_size`` rows drawn at random."""
    n, d = vectors.shape
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=plan.train_size, replace=False)) if plan.train_size < n else np.arange(n)
    sample = np.ascontiguousarray(vectors[rows])
    if plan.nlist == 1:
        c = sample.mean(axis=0, keepdims=True)
        norm = float(np.linalg.norm(c))
        return (c / norm if norm > 0 else np.ones((1, d), np.float32) / np.sqrt(d)).astype(np.float32)
    if plan.train_size < MIN_POINTS_PER_LIST * plan.nlist:
        logger.info(
            "IVF: %d training vectors for %d lists (< %d each)", plan.train_size, plan.nlist, MIN_POINTS_PER_LIST
        )
    km = faiss.Kmeans(
        d,
        plan.nlist,
        niter=NITER,
        spherical=True,
        seed=seed,
        min_points_per_centroid=1,
        max_points_per_centroid=plan.train_size // plan.nlist + 1,  # the sample is drawn here, not by FAISS
    )
    km.train(sample)
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


class _IVFBackend:
    """Approximate inner-product search over an ``IndexIVFFlat`` with the caller's ids stored natively.

    Parameters
    ----------
    dim : int
    nlist : int, optional
        Lists to train; None plans them from the first add (`plan_lists`).
    nprobe : int
        Lists scanned per query (at most ``nlist``).
    exact_below : int
        A filtered search allowing at most this many ids scores them exactly.
    seed : int
        Seed of the training sample and of k-means.
    index, ids
        A trained index read from disk and its ids (`from_saved`).
    """

    kind = "ivf"

    def __init__(
        self,
        dim: int,
        *,
        nlist: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        exact_below: int = 10_000,
        seed: int = 0,
        index: faiss.Index | None = None,
    ) -> None:
        self.dim = dim
        self.requested_nlist = nlist
        self.nprobe = int(nprobe)
        self.exact_below = int(exact_below)
        self.seed = seed
        #: The trained ``IndexIVFFlat``; None until the first add.
        self.index: faiss.Index | None = index
        self._ids_cache: np.ndarray | None = None

    # ------------------------------------------------------------------ state
    @property
    def nlist(self) -> int | None:
        """Lists in use (None before training)."""
        return None if self.index is None else int(self.index.nlist)

    @property
    def count(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Stored ids, int64 (count,), gathered list by list (cached until the next change)."""
        if self._ids_cache is None:
            if self.index is None or self.index.ntotal == 0:
                self._ids_cache = np.empty(0, dtype=np.int64)
            else:
                invlists = self.index.invlists
                parts = []
                for lst in range(self.index.nlist):
                    size = invlists.list_size(lst)
                    if size:
                        parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                self._ids_cache = np.concatenate(parts).astype(np.int64, copy=False)
        return self._ids_cache

    # ------------------------------------------------------------------ mutation
    def _train(self, vectors: np.ndarray) -> None:
        plan = plan_lists(vectors.shape[0], self.requested_nlist)
        logger.info("IVF: training %d lists on %d of %d vectors", plan.nlist, plan.train_size, vectors.shape[0])
        centroids = _spherical_centroids(vectors, plan, self.seed)
        quantizer = faiss.IndexFlatIP(self.dim)
        quantizer.add(centroids)
        index = faiss.IndexIVFFlat(quantizer, self.dim, plan.nlist, faiss.METRIC_INNER_PRODUCT)
        index.is_trained = True  # FAISS's Python wrapper keeps ``quantizer`` alive with ``index``
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        self.index = index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under new ids; the first add trains the quantizer on (a sample of) them."""
        if self.index is None:
            if not ids.size:
                return
            self._train(vectors)
        assert self.index is not None
        self.index.add_with_ids(vectors, ids)
        self._ids_cache = None

    def remove(self, ids: np.ndarray) -> int:
        if self.index is None or not ids.size:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        # the hash-table direct map removes in place, but only through an id array selector
        removed = int(self.index.remove_ids(faiss.IDSelectorArray(ids.size, faiss.swig_ptr(ids))))
        self._ids_cache = None
        return removed

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        if self.index is None or not ids.size:
            return np.empty((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(ids)

    # ------------------------------------------------------------------ search
    def _params(self, nprobe: int, selector: faiss.IDSelector | None) -> faiss.SearchParametersIVF:
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        if selector is not None:
            params.sel = selector
        return params

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        *,
        gpu_index: faiss.Index | None = None,
        filter_strategy: str = "auto",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ids (m, k) int64 and scores (m, k) float32 over the ``nprobe`` best lists;
        ``allowed`` restricts the results in-search (see the module docstring)."""
        if self.index is None:
            return _exact_over(queries, np.empty((0, self.dim), np.float32), np.empty(0, np.int64), k)
        selector = None
        if allowed is not None:
            allowed = allowed[np.isin(allowed, self.ids())]
            if filter_strategy == "subset" or (filter_strategy == "auto" and allowed.size <= self.exact_below):
                return _exact_over(queries, self.reconstruct(allowed), allowed, k)
            selector = faiss.IDSelectorBatch(allowed)
            wanted = int(allowed.size)
        else:
            wanted = self.count
        nlist = int(self.index.nlist)
        distances, labels = self.index.search(queries, k, params=self._params(min(self.nprobe, nlist), selector))
        ids, scores = _labels_to_ids(labels, distances)
        short = np.flatnonzero((ids >= 0).sum(axis=1) < min(k, wanted))
        if short.size:  # the probed lists held fewer than k (allowed) vectors: scan them all
            logger.debug("IVF returned short rows for %d queries; scanning every list", short.size)
            d2, l2 = self.index.search(queries[short], k, params=self._params(nlist, selector))
            ids[short], scores[short] = _labels_to_ids(l2, d2)
        return ids, scores

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> np.ndarray:
        if self.index is None:
            raise ValueError("an untrained IVF index has nothing to save")
        faiss.write_index(self.index, str(directory / "index.faiss"))
        return self.ids()

    @classmethod
    def from_saved(cls, index: faiss.Index, ids: np.ndarray, *, nprobe: int, exact_below: int) -> _IVFBackend:
        # read_index returns the concrete class (a downcast copy would not own the index)
        if not isinstance(index, faiss.IndexIVFFlat) or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"index.faiss holds {type(index).__name__}, not an inner-product IndexIVFFlat")
        if index.direct_map.type != faiss.DirectMap.Hashtable:
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
        backend = cls(int(index.d), nlist=int(index.nlist), nprobe=nprobe, exact_below=exact_below, index=index)
        if not np.array_equal(np.sort(backend.ids()), np.sort(ids)):
            raise ValueError("ids.npy does not match the ids stored in index.faiss")
        return backend
