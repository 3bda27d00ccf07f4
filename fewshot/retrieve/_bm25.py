"""`BM25Retriever`: lexical retrieval with ``bm25s``."""

from __future__ import annotations

import logging
import os
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import Any, ClassVar

import bm25s
import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._artifact import atomic_dir, read_manifest, utc_now, write_manifest
from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._corpus import Corpus
from fewshot.retrieve._hits import Hits
from fewshot.retrieve._topk import topk_rows

__all__ = ["BM25Retriever"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
ARTIFACT = "bm25_retriever"


class BM25Retriever(BaseRetriever):
    """Okapi BM25 over the corpus texts.

    Parameters
    ----------
    corpus : Corpus
    k1, b : float
        BM25 term-frequency saturation and length normalisation.
    method : str
        A ``bm25s`` scoring variant (``"lucene"``, ``"robertson"``, ``"atire"``, ``"bm25l"``,
        ``"bm25+"``).
    stopwords : str or list of str, optional
        Passed to ``bm25s.tokenize`` (``"en"`` = its English list; None keeps all words).
    chunk_size : int
        Queries scored together; memory is ``chunk_size * len(corpus)`` floats.

    Notes
    -----
    Filters become a mask on the score vector (disallowed items get ``-inf``) before the
    top-k is taken, so ``k`` allowed items come back whenever ``k`` exist; items sharing no
    term with the query score 0 and rank after every matching one, ties by corpus order.
    (``bm25s``'s own ``weight_mask`` sets masked scores to 0, which lets masked items fill
    the tail of a short result list; hence the explicit mask here.) BM25 statistics are
    corpus-wide, so any change to the corpus rebuilds the index on the next search.
    """

    name: ClassVar[str] = "bm25"

    def __init__(
        self,
        corpus: Corpus,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        stopwords: str | list[str] | None = "en",
        chunk_size: int = 256,
    ) -> None:
        super().__init__(corpus)
        self.k1 = k1
        self.b = b
        self.method = method
        self.stopwords = stopwords
        self.chunk_size = chunk_size
        self._bm25: bm25s.BM25 | None = None
        self._doc_keys = np.empty(0, dtype=np.int64)
        self._synced = -1

    def _params(self) -> dict[str, Any]:
        return {
            "k1": self.k1,
            "b": self.b,
            "method": self.method,
            "stopwords": self.stopwords,
            "chunk_size": self.chunk_size,
        }

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        return bm25s.tokenize(
            texts, lower=True, stopwords=self.stopwords or None, return_ids=False, show_progress=False
        )

    def sync(self) -> None:
        """Rebuild the BM25 index if the corpus changed since the last build."""
        if self._synced == self.corpus.version:
            return
        keys = self.corpus.keys().copy()
        logger.debug("building BM25 index over %d items", keys.size)
        bm25 = None
        if keys.size:
            bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            bm25.index(self._tokenize(self.corpus.texts_at(keys)), show_progress=False)
        self._bm25, self._doc_keys, self._synced = bm25, keys, self.corpus.version

    def _prepare(self, batch: list[str] | np.ndarray) -> list[list[str]]:
        return self._tokenize(list(batch))

    def _scores(self, tokens: list[str]) -> np.ndarray:
        assert self._bm25 is not None
        if not tokens:
            return np.zeros(self._doc_keys.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def _search(self, prepared: list[list[str]], k: int, allowed: np.ndarray | None) -> Hits:
        m = len(prepared)
        hits = Hits.empty(m, k)
        if self._bm25 is None:
            return hits
        blocked = None if allowed is None else ~np.isin(self._doc_keys, allowed)
        for start in range(0, m, self.chunk_size):
            rows = prepared[start : start + self.chunk_size]
            scores = np.stack([self._scores(t) for t in rows])
            if blocked is not None:
                scores[:, blocked] = -np.inf
            cols, vals = topk_rows(scores, k)
            stop = start + len(rows)
            hits.ids[start:stop] = np.where(cols >= 0, self._doc_keys[np.maximum(cols, 0)], -1)
            hits.scores[start:stop] = vals
        return hits

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the BM25 index, its corpus and a manifest into ``directory`` (atomically)."""
        self.sync()
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            if self._bm25 is not None:
                self._bm25.save(str(tmp / "bm25"), show_progress=False)
            np.save(tmp / "keys.npy", self._doc_keys)
            self.corpus.write_jsonl(tmp / "corpus.jsonl")
            write_manifest(
                tmp,
                {
                    "artifact": ARTIFACT,
                    "format_version": FORMAT_VERSION,
                    "kind": "bm25",
                    "count": int(self._doc_keys.size),
                    "params": self._params(),
                    "created": utc_now(),
                    "bm25s_version": _pkg_version("bm25s"),
                },
            )
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> BM25Retriever:
        """Read a retriever written by `save` (no re-tokenisation of the corpus)."""
        directory = Path(directory)
        manifest = read_manifest(directory, kind=ARTIFACT, format_version=FORMAT_VERSION)
        corpus = Corpus.read_jsonl(directory / "corpus.jsonl")
        out = cls(corpus, **manifest["params"])
        keys = np.load(directory / "keys.npy", allow_pickle=False)
        if keys.size != manifest["count"] or not np.array_equal(keys, corpus.keys()):
            raise InvalidInputError(f"{directory}: keys.npy does not match corpus.jsonl")
        bm25 = None
        if keys.size:
            bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False)
            if int(bm25.scores["num_docs"]) != keys.size:
                raise InvalidInputError(f"{directory}: BM25 index size != corpus size")
        out._bm25, out._doc_keys, out._synced = bm25, keys, corpus.version
        return out
