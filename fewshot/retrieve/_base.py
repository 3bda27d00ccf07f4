"""The retriever interface: `Retriever`, its shared base `BaseRetriever`, and `Demo`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Union, runtime_checkable

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._corpus import Corpus, Example
from fewshot.retrieve._filter import Filter
from fewshot.retrieve._hits import Hits

__all__ = ["Demo", "Retriever", "BaseRetriever", "Queries", "FilterArg"]

#: One query text, many texts, or pre-computed query vectors of shape (m, dim).
Queries = Union[str, Sequence[str], np.ndarray]  # noqa: UP007 - a runtime alias: `|` needs 3.10 types
#: One filter for the whole batch, or one (or None) per query.
FilterArg = Union[Filter, Sequence[Filter | None], None]  # noqa: UP007


@dataclass(frozen=True)
class Demo:
    """A retrieved demonstration.

    example : Example
    score : float -- the retriever's similarity (cosine for dense retrievers, BM25 score,
        0.0 for random).
    rank : int -- 0-based position in the retriever's output for this query.
    """

    example: Example
    score: float
    rank: int

    @property
    def id(self) -> int | str:
        return self.example.id

    @property
    def text(self) -> str:
        return self.example.text

    @property
    def label(self) -> Hashable | None:
        return self.example.label

    @property
    def output(self) -> str | None:
        return self.example.output

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "score", "rank"}`` for logging."""
        return {"id": self.id, "score": self.score, "rank": self.rank}


@runtime_checkable
class Retriever(Protocol):
    """Finds demonstrations for a batch of queries.

    ``search`` returns `Hits` over corpus *keys* (vectorised consumers); ``retrieve``
    returns `Demo` objects. Both take the whole batch at once and apply ``filter`` inside
    the search, never after the top-k.
    """

    name: str
    corpus: Corpus

    def search(self, queries: Queries, k: int, *, filter: FilterArg = None) -> Hits: ...

    def retrieve(self, queries: Queries, k: int, *, filter: FilterArg = None) -> list[list[Demo]]: ...


class BaseRetriever(ABC):
    """Shared logic: input checks, per-query filter grouping, keys -> `Demo` conversion.

    Subclasses implement ``_prepare`` (turn the batch into what the search needs, e.g.
    vectors, once for the whole batch) and ``_search`` (top-k keys among ``allowed`` keys
    for a batch of prepared queries), and may override ``sync`` to bring an index up to
    date with the corpus.
    """

    name: ClassVar[str] = "base"
    #: True when the retriever is built over a `DenseRetriever` (re-ranks its candidates) instead of a `Corpus`.
    needs_dense: ClassVar[bool] = False
    #: Whether ``_prepare`` accepts pre-computed vectors instead of texts.
    accepts_vectors: ClassVar[bool] = False

    def __init__(self, corpus: Corpus) -> None:
        if not isinstance(corpus, Corpus):
            raise InvalidInputError(f"corpus must be a Corpus, got {type(corpus).__name__}")
        self.corpus = corpus

    # ------------------------------------------------------------------ public API
    def search(self, queries: Queries, k: int, *, filter: FilterArg = None) -> Hits:
        """Top-``k`` corpus keys per query.

        Parameters
        ----------
        queries : str, sequence of str, or ndarray of shape (m, dim)
            A single str is a batch of one. Vectors are accepted by dense retrievers.
        k : int, >= 1
        filter : Filter, or a sequence of m (Filter or None), optional
            Restricts the candidates inside the search. Queries sharing a filter are
            searched together; each distinct filter costs one search call.

        Returns
        -------
        Hits
            ``ids`` are corpus keys (see `Corpus.examples_at`), shape (m, k), padded with -1.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k must be an int >= 1, got {k!r}")
        k = int(k)
        batch = self._as_batch(queries)
        m = len(batch)
        if m == 0:
            return Hits.empty(0, k)
        self.sync()
        prepared = self._prepare(batch)
        parts = []
        for flt, rows in self._groups(filter, m):
            allowed = self.corpus.allowed_keys(flt)
            if allowed is not None and allowed.size == 0:
                continue
            subset = prepared if rows.size == m else self._take(prepared, rows)
            parts.append((rows, self._search(subset, k, allowed)))
        return Hits.concat_rows(parts, m, k)

    def retrieve(self, queries: Queries, k: int, *, filter: FilterArg = None) -> list[list[Demo]]:
        """Top-``k`` demonstrations per query (fewer when fewer items are allowed).

        Same arguments as `search`; returns one list of `Demo` per query, best first.
        """
        hits = self.search(queries, k, filter=filter)
        out = []
        for row in hits:
            examples = self.corpus.examples_at(row.ids.tolist())
            out.append([Demo(ex, float(s), r) for r, (ex, s) in enumerate(zip(examples, row.scores.tolist()))])
        return out

    def sync(self) -> None:  # noqa: B027 - optional hook: retrievers without an index have nothing to sync
        """Bring internal indexes up to date with the corpus (no-op by default)."""

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _prepare(self, batch: list[str] | np.ndarray) -> Any:
        """Turn the whole batch into search input (indexable by row)."""

    @abstractmethod
    def _search(self, prepared: Any, k: int, allowed: np.ndarray | None) -> Hits:
        """Top-``k`` keys per prepared query among ``allowed`` keys (None = all)."""

    # ------------------------------------------------------------------ helpers
    def _as_batch(self, queries: Queries) -> list[str] | np.ndarray:
        if isinstance(queries, str):
            return [queries]
        if isinstance(queries, np.ndarray) and queries.dtype.kind in "fiu":
            if not self.accepts_vectors:
                raise InvalidInputError(f"{type(self).__name__} needs query texts, not vectors")
            return queries[None, :] if queries.ndim == 1 else queries
        batch = list(queries)
        if not all(isinstance(q, str) for q in batch):
            raise InvalidInputError("queries must be strings (or a 2-D array of vectors)")
        return batch

    @staticmethod
    def _take(prepared: Any, rows: np.ndarray) -> Any:
        if isinstance(prepared, np.ndarray):
            return prepared[rows]
        return [prepared[i] for i in rows.tolist()]

    @staticmethod
    def _groups(filter: FilterArg, m: int) -> list[tuple[Filter | None, np.ndarray]]:
        if filter is None or isinstance(filter, Filter):
            return [(filter, np.arange(m))]
        filters = list(filter)
        if len(filters) != m:
            raise InvalidInputError(f"got {len(filters)} filters for {m} queries")
        groups: dict[Filter | None, list[int]] = {}
        for i, f in enumerate(filters):
            if f is not None and not isinstance(f, Filter):
                raise InvalidInputError(f"filter {i} is a {type(f).__name__}, not a Filter")
            groups.setdefault(None if f is None or f.is_trivial else f, []).append(i)
        return [(f, np.asarray(rows, dtype=np.int64)) for f, rows in groups.items()]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self.corpus)})"
