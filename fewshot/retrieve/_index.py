"""`DenseIndex`: a FAISS vector index over items with external int64 ids."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from fewshot.exceptions import ConflictError, FewshotError, InvalidInputError, NotFoundError
from fewshot.retrieve._artifact import atomic_dir, read_manifest, utc_now, write_manifest
from fewshot.retrieve._faiss_backends import _FlatBackend, _HNSWBackend
from fewshot.retrieve._hits import Hits
from fewshot.retrieve._ivf_backend import DEFAULT_NPROBE, MIN_COUNT, _IVFBackend

__all__ = ["DenseIndex", "INDEX_KINDS", "METRICS", "FILTER_STRATEGIES"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
ARTIFACT = "dense_index"
INDEX_KINDS = ("auto", "flat", "hnsw", "ivf")
_Backend = _FlatBackend | _HNSWBackend | _IVFBackend
METRICS = ("cosine", "ip")
FILTER_STRATEGIES = ("auto", "selector", "subset")


@contextlib.contextmanager
def _omp_threads(n: int | None) -> Iterator[None]:
    """Run FAISS with ``n`` OpenMP threads inside the block, restoring the old setting."""
    if n is None:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_nprobe(nprobe: object) -> None:
    if not _is_int(nprobe) or nprobe < 1:  # type: ignore[operator]
        raise InvalidInputError(f"ivf_nprobe must be an int >= 1, got {nprobe!r}")


class DenseIndex:
    """Inner-product nearest-neighbour search over vectors with caller-chosen int64 ids.

    Parameters
    ----------
    dim : int
        Vector dimension.
    kind : {"auto", "flat", "hnsw", "ivf"}
        ``"flat"``: exact search, ``IndexIDMap2(IndexFlatIP)``. ``"hnsw"``: approximate
        ``IndexHNSWFlat`` (inner product). ``"ivf"``: approximate ``IndexIVFFlat`` (inner
        product; `fewshot.retrieve._ivf_backend`): exact (flat) while the index holds fewer than
        ``ivf_min_count`` vectors; the add that reaches it trains the lists on (a sample of) all
        vectors held and moves them into an IVF index (a one-off rebuild, logged). ``"auto"``
        starts flat and switches to HNSW once the index holds more than ``auto_threshold``
        vectors (a one-off rebuild, logged).
    metric : {"cosine", "ip"}
        ``"cosine"`` L2-normalises stored and query vectors, so scores are cosines;
        ``"ip"`` keeps raw inner products (for encoders trained with dot-product similarity).
    embedding_model : str, optional
        Name of the model that produced the vectors; stored in the manifest and checked
        on `load` when the caller passes an expected name.
    auto_threshold : int
        Size above which ``kind="auto"`` moves to HNSW.
    hnsw_m, ef_construction, ef_search : int
        HNSW graph degree and build/search beam widths (``efSearch`` is raised to ``k``).
    exact_below : int
        HNSW and IVF: a filtered search that allows at most this many ids scores them exactly
        instead of walking the graph or probing lists (either loses recall on rare allowed ids).
    ivf_nlist : int, optional
        IVF lists; None: ``min(4 * sqrt(n), n / 39)`` for the ``n`` vectors held when it is
        trained (see `fewshot.retrieve._ivf_backend.plan_lists`).
    ivf_nprobe : int
        IVF lists scanned per query (default `DEFAULT_NPROBE`; capped at the number of lists;
        `set_nprobe` changes it). ``nprobe = nlist`` gives the exact top-k.
    ivf_min_count : int
        Fewest vectors an IVF index is trained on; below, ``kind="ivf"`` searches exactly.
    filter_strategy : {"auto", "selector", "subset"}
        How ``allowed_ids`` is applied inside the search: a FAISS ``IDSelectorBatch`` passed
        in ``SearchParameters`` (``"selector"``), or an exact search over the gathered
        allowed vectors only (``"subset"``; one BLAS product instead of a per-vector scan,
        ~20x faster for a 1,000-query batch). ``"auto"`` picks per call (see
        `fewshot.retrieve._faiss_backends`). All give the same exact top-k on a flat index.
    n_threads : int, optional
        OpenMP threads FAISS uses inside this object's calls. None keeps FAISS's setting,
        except that a single-query search runs on one thread (a lone query gains nothing
        from the thread team and measurably loses to its start-up on small machines).
    use_gpu : bool
        Keep a GPU copy of a flat index for unfiltered searches when FAISS sees a GPU
        (``faiss-gpu`` build); otherwise ignored with a log message.

    Notes
    -----
    Ids must be non-negative (-1 marks padding). Adding an id that is present replaces its
    vector. Filtering (``allowed_ids`` in `search`) happens inside the search, so ``k``
    allowed results come back whenever ``k`` allowed ids exist.

    Examples
    --------
    >>> index = DenseIndex(2)
    >>> index.add([10, 20, 30], [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> index.search([[0.9, 0.1]], k=2).ids.tolist()
    [[10, 30]]
    >>> index.search([[0.9, 0.1]], k=2, allowed_ids=[20, 30]).ids.tolist()
    [[30, 20]]
    """

    def __init__(
        self,
        dim: int,
        *,
        kind: str = "auto",
        metric: str = "cosine",
        embedding_model: str | None = None,
        auto_threshold: int = 200_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 64,
        exact_below: int = 10_000,
        filter_strategy: str = "auto",
        ivf_nlist: int | None = None,
        ivf_nprobe: int = DEFAULT_NPROBE,
        ivf_min_count: int = MIN_COUNT,
        n_threads: int | None = None,
        use_gpu: bool = False,
    ) -> None:
        if not isinstance(dim, (int, np.integer)) or dim <= 0:
            raise InvalidInputError(f"dim must be a positive int, got {dim!r}")
        if kind not in INDEX_KINDS:
            raise InvalidInputError(f"kind must be one of {INDEX_KINDS}, got {kind!r}")
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {METRICS}, got {metric!r}")
        if filter_strategy not in FILTER_STRATEGIES:
            raise InvalidInputError(f"filter_strategy must be one of {FILTER_STRATEGIES}, got {filter_strategy!r}")
        if n_threads is not None and n_threads < 1:
            raise InvalidInputError(f"n_threads must be >= 1, got {n_threads}")
        for name, value, least in (("ivf_nlist", ivf_nlist, 1), ("ivf_min_count", ivf_min_count, 1)):
            if value is not None and (not _is_int(value) or value < least):
                raise InvalidInputError(f"{name} must be an int >= {least}, got {value!r}")
        _check_nprobe(ivf_nprobe)
        self.dim = int(dim)
        self.requested_kind = kind
        self.metric = metric
        self.embedding_model = embedding_model
        self.auto_threshold = int(auto_threshold)
        self.hnsw_params: dict[str, Any] = {
            "m": int(hnsw_m),
            "ef_construction": int(ef_construction),
            "ef_search": int(ef_search),
            "exact_below": int(exact_below),
        }
        self.ivf_params: dict[str, Any] = {
            "nlist": None if ivf_nlist is None else int(ivf_nlist),
            "nprobe": int(ivf_nprobe),
            "min_count": int(ivf_min_count),
        }
        self.filter_strategy = filter_strategy
        self.n_threads = n_threads
        self.use_gpu = use_gpu
        self._gpu_index: Any = None
        self._gpu_resources: Any = None
        self._backend: _Backend = self._new_hnsw() if kind == "hnsw" else _FlatBackend(self.dim)
        #: True when the vectors are mapped from a file (`load` with ``mmap``): no add or remove
        self.read_only = False

    def _check_writable(self) -> None:
        if self.read_only:  # FAISS would abort the process on a mapped index
            raise ConflictError("this index is mapped read-only from its file; load it without mmap to change it")

    def _new_hnsw(self) -> _HNSWBackend:
        return _HNSWBackend(self.dim, **self.hnsw_params)

    def _new_ivf(self) -> _IVFBackend:
        return _IVFBackend(
            self.dim,
            nlist=self.ivf_params["nlist"],
            nprobe=self.ivf_params["nprobe"],
            exact_below=self.hnsw_params["exact_below"],
        )

    def set_nprobe(self, nprobe: int) -> None:
        """IVF lists scanned per query from now on (kept by `save`); `InvalidInputError` unless an int >= 1."""
        _check_nprobe(nprobe)
        self.ivf_params["nprobe"] = int(nprobe)
        if isinstance(self._backend, _IVFBackend):
            self._backend.nprobe = int(nprobe)

    # ------------------------------------------------------------------ properties
    @property
    def kind(self) -> str:
        """The structure in use now: ``"flat"``, ``"hnsw"`` or ``"ivf"``."""
        return self._backend.kind

    def __len__(self) -> int:
        return self._backend.count

    @property
    def ids(self) -> np.ndarray:
        """The stored ids, int64 of shape (len(self),) (order unspecified)."""
        return self._backend.ids().copy()

    def __contains__(self, id: object) -> bool:
        return bool(np.isin(np.int64(id), self._backend.ids()))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ input checks
    def _check_vectors(self, vectors: Any, what: str) -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InvalidInputError(f"{what} must have shape (n, {self.dim}), got {np.shape(vectors)}")
        if not np.isfinite(x).all():
            raise InvalidInputError(f"{what} contain NaN or infinite values")
        x = np.array(x, dtype=np.float32, order="C", copy=True)
        if self.metric == "cosine" and x.size:
            faiss.normalize_L2(x)
        return x

    @staticmethod
    def _check_ids(ids: Any, what: str = "ids") -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise InvalidInputError(f"{what} must be a 1-D sequence of ints")
        arr = np.ascontiguousarray(arr, dtype=np.int64)
        if arr.size and arr.min() < 0:
            raise InvalidInputError(f"{what} must be non-negative (-1 marks padding)")
        return arr

    # ------------------------------------------------------------------ mutation
    def add(self, ids: Any, vectors: Any) -> None:
        """Add vectors under ``ids``; an id already present has its vector replaced.

        ids : array-like of shape (n,), non-negative ints, unique.
        vectors : array-like of shape (n, dim), float.
        """
        self._check_writable()
        ids = self._check_ids(ids)
        x = self._check_vectors(vectors, "vectors")
        if ids.shape[0] != x.shape[0]:
            raise InvalidInputError(f"{ids.shape[0]} ids for {x.shape[0]} vectors")
        if np.unique(ids).size != ids.size:
            raise InvalidInputError("ids passed to one add() call must be unique")
        if not ids.size:
            return
        present = ids[np.isin(ids, self._backend.ids())]
        with _omp_threads(self.n_threads):
            if present.size:
                self._backend.remove(present)
            if self._ivf_due(ids.size):
                ids, x = self._migrate_to_ivf(ids, x)
            self._backend.add(ids, x)
        self._gpu_index = None
        if self.requested_kind == "auto" and self.kind == "flat" and len(self) > self.auto_threshold:
            self._migrate_to_hnsw()

    def remove(self, ids: Any, *, missing_ok: bool = False) -> int:
        """Remove the vectors under ``ids``; returns how many were removed.

        Unknown ids raise `NotFoundError` unless ``missing_ok``.
        """
        self._check_writable()
        ids = np.unique(self._check_ids(ids))
        known = np.isin(ids, self._backend.ids())
        if not missing_ok and not known.all():
            raise NotFoundError(f"ids not in the index: {ids[~known][:10].tolist()}")
        ids = ids[known]
        if not ids.size:
            return 0
        with _omp_threads(self.n_threads):
            removed = self._backend.remove(ids)
        self._gpu_index = None
        return removed

    def _ivf_due(self, adding: int) -> bool:
        """Whether this add brings a ``kind="ivf"`` index, still exact, to ``ivf_min_count`` vectors."""
        return (
            self.requested_kind == "ivf"
            and isinstance(self._backend, _FlatBackend)
            and len(self) + adding >= self.ivf_params["min_count"]
        )

    def _migrate_to_ivf(self, ids: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Swap in an untrained IVF backend; what it must receive: the held vectors, then ``ids``/``x``
        (its first add trains the lists on them)."""
        held = self._backend.ids().copy()
        logger.info(
            "DenseIndex: %d vectors reach ivf_min_count=%d, training IVF",
            held.size + ids.size,
            self.ivf_params["min_count"],
        )
        if held.size:
            ids = np.concatenate([held, ids])
            x = np.concatenate([self._backend.reconstruct(held), x])
        self._backend = self._new_ivf()
        return ids, x

    def _migrate_to_hnsw(self) -> None:
        ids = self._backend.ids().copy()
        logger.info("DenseIndex: %d vectors exceed auto_threshold=%d, moving to HNSW", ids.size, self.auto_threshold)
        with _omp_threads(self.n_threads):
            vectors = self._backend.reconstruct(ids)
            backend = self._new_hnsw()
            backend.add(ids, vectors)
        self._backend = backend

    def reconstruct(self, ids: Any) -> np.ndarray:
        """Stored (normalised, for cosine) vectors of ``ids``, shape (n, dim) float32."""
        ids = self._check_ids(ids)
        known = np.isin(ids, self._backend.ids())
        if not known.all():
            raise NotFoundError(f"ids not in the index: {ids[~known][:10].tolist()}")
        if not ids.size:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._backend.reconstruct(ids)

    # ------------------------------------------------------------------ search
    def search(self, queries: Any, k: int, *, allowed_ids: Any = None) -> Hits:
        """The ``k`` most similar stored vectors for each query.

        Parameters
        ----------
        queries : array-like of shape (m, dim) or (dim,)
        k : int, >= 1
        allowed_ids : array-like of ints, optional
            Only these ids may be returned. Applied inside the search (never by filtering
            a top-k afterwards; see ``filter_strategy``), so each row holds
            ``min(k, number of allowed ids present)`` results.

        Returns
        -------
        Hits
            ``ids`` (m, k) int64 and ``scores`` (m, k) float32, best first; padded with
            -1 / -inf where fewer than ``k`` results exist.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k must be an int >= 1, got {k!r}")
        k = int(k)
        q = self._check_vectors(queries, "queries")
        allowed = None
        if allowed_ids is not None:
            allowed = np.unique(self._check_ids(allowed_ids, "allowed_ids"))
            if not allowed.size:
                return Hits.empty(q.shape[0], k)
        if len(self) == 0 or q.shape[0] == 0:
            return Hits.empty(q.shape[0], k)
        threads = self.n_threads if self.n_threads is not None or q.shape[0] > 1 else 1
        with _omp_threads(threads):
            ids, scores = self._backend.search(
                q, k, allowed, gpu_index=self._gpu() if allowed is None else None, filter_strategy=self.filter_strategy
            )
        return Hits(ids, scores)

    def enable_half_scan(self) -> bool:
        """Answer unfiltered searches of an exact (flat) index with float16 candidates re-scored in
        float32 (`fewshot.retrieve._half_scan.HalfScan`): the same top-k, proven per query (a query
        that cannot be proven falls back to the float32 scan), reading half the bytes. Holds a
        float16 copy (``2 * count * dim`` bytes). Until the next `add` or `remove`. Returns whether it
        applies (False for HNSW, IVF and for an empty index)."""
        if not isinstance(self._backend, _FlatBackend) or len(self) == 0:
            return False
        self._backend.enable_half_scan()
        return True

    def _gpu(self) -> Any:
        """A GPU copy of a flat index for unfiltered search, when possible (else None)."""
        if not self.use_gpu or self.kind != "flat":
            return None
        if self._gpu_index is None:
            if faiss.get_num_gpus() == 0 or not hasattr(faiss, "StandardGpuResources"):
                logger.info("use_gpu=True but FAISS sees no GPU; searching on CPU")
                self.use_gpu = False
                return None
            if self._gpu_resources is None:
                self._gpu_resources = faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_resources, 0, self._backend.index)
        return self._gpu_index

    # ------------------------------------------------------------------ persistence
    def manifest(self) -> dict[str, Any]:
        """The manifest `save` writes (without ``created``)."""
        return {
            "artifact": ARTIFACT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "requested_kind": self.requested_kind,
            "metric": self.metric,
            "dim": self.dim,
            "embedding_model": self.embedding_model,
            "count": len(self),
            "auto_threshold": self.auto_threshold,
            "hnsw": dict(self.hnsw_params),
            "ivf": {
                **self.ivf_params,
                "nlist": self._backend.nlist if isinstance(self._backend, _IVFBackend) else None,
                "requested_nlist": self.ivf_params["nlist"],
            },
            "faiss_version": faiss.__version__,
        }

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``index.faiss``, ``ids.npy`` and ``manifest.json`` into ``directory``.

        The folder is written under a temporary name and moved into place, so a failed
        save leaves any previous index at ``directory`` intact.
        """
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            self._write_into(tmp)
        return directory

    def _write_into(self, directory: Path) -> None:
        with _omp_threads(self.n_threads):
            ids = self._backend.save(directory)
        np.save(directory / "ids.npy", ids)
        write_manifest(directory, {**self.manifest(), "created": utc_now()})

    @staticmethod
    def stored_kind(directory: str | Path) -> str | None:
        """The ``kind`` an index saved in ``directory`` was asked to be (``"auto"``, ``"flat"``,
        ``"hnsw"`` or ``"ivf"``), read from its manifest; None when there is no readable manifest."""
        try:
            m = read_manifest(directory, kind=ARTIFACT, format_version=FORMAT_VERSION)
        except (FewshotError, OSError, ValueError):
            return None
        kind = m.get("requested_kind", m.get("kind"))
        return kind if isinstance(kind, str) else None

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        dim: int | None = None,
        embedding_model: str | None = None,
        filter_strategy: str = "auto",
        n_threads: int | None = None,
        use_gpu: bool = False,
        mmap: bool = False,
    ) -> DenseIndex:
        """Read an index written by `save`.

        ``mmap``: an exact (flat) index's vectors are mapped from ``index.faiss`` instead of read
        into memory: processes serving the same version share one copy in the page cache, and
        loading is instant. Such an index is read-only (`add` and `remove` raise
        `ConflictError`); an HNSW or IVF index is always read into memory.

        ``dim`` and ``embedding_model``, when given, must match the manifest; a mismatch
        (or an unsupported ``format_version``, or files that disagree with the manifest)
        raises `InvalidInputError`. A missing folder raises `NotFoundError`.
        """
        directory = Path(directory)
        m = read_manifest(directory, kind=ARTIFACT, format_version=FORMAT_VERSION)
        if dim is not None and m.get("dim") != dim:
            raise InvalidInputError(f"{directory}: index dim is {m.get('dim')}, expected {dim}")
        if embedding_model is not None and m.get("embedding_model") != embedding_model:
            raise InvalidInputError(
                f"{directory}: index was built with embedding model "
                f"{m.get('embedding_model')!r}, expected {embedding_model!r}"
            )
        if m.get("kind") not in ("flat", "hnsw", "ivf") or m.get("metric") not in METRICS:
            raise InvalidInputError(f"{directory}: unknown kind/metric in manifest")
        hnsw = m.get("hnsw") or {}
        ivf = m.get("ivf") or {}
        out = cls(
            int(m["dim"]),
            kind=m.get("requested_kind", m["kind"]),
            metric=m["metric"],
            embedding_model=m.get("embedding_model"),
            auto_threshold=int(m.get("auto_threshold", 200_000)),
            hnsw_m=hnsw.get("m", 32),
            ef_construction=hnsw.get("ef_construction", 80),
            ef_search=hnsw.get("ef_search", 64),
            exact_below=hnsw.get("exact_below", 10_000),
            ivf_nlist=ivf.get("requested_nlist"),
            ivf_nprobe=ivf.get("nprobe", DEFAULT_NPROBE),
            ivf_min_count=ivf.get("min_count", MIN_COUNT),
            filter_strategy=filter_strategy,
            n_threads=n_threads,
            use_gpu=use_gpu,
        )
        try:
            flags = faiss.IO_FLAG_MMAP_IFC if mmap and m["kind"] == "flat" else 0
            index = faiss.read_index(str(directory / "index.faiss"), flags)
            ids = np.load(directory / "ids.npy", allow_pickle=False)
        except (OSError, RuntimeError, ValueError) as exc:
            raise InvalidInputError(f"{directory}: cannot read index files ({exc})") from exc
        if index.d != out.dim:
            raise InvalidInputError(f"{directory}: index.faiss has dim {index.d}, manifest says {out.dim}")
        try:
            if m["kind"] == "flat":
                out._backend = _FlatBackend.from_saved(index, ids)
            elif m["kind"] == "ivf":
                out._backend = _IVFBackend.from_saved(
                    index, ids, nprobe=out.ivf_params["nprobe"], exact_below=out.hnsw_params["exact_below"]
                )
            else:
                out._backend = _HNSWBackend.from_saved(index, ids, **out.hnsw_params)
        except ValueError as exc:
            raise InvalidInputError(f"{directory}: {exc}") from exc
        if len(out) != m.get("count"):
            raise InvalidInputError(f"{directory}: manifest count {m.get('count')} != {len(out)} stored vectors")
        out.read_only = bool(flags)
        return out

    def __repr__(self) -> str:
        return (
            f"DenseIndex(dim={self.dim}, kind={self.kind!r}, metric={self.metric!r}, "
            f"count={len(self)}, embedding_model={json.dumps(self.embedding_model)})"
        )
