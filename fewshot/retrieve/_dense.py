"""`DenseRetriever`: embedding similarity search (an `Encoder` plus a `DenseIndex`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fewshot.embed import Encoder, SentenceEncoder
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._artifact import atomic_dir, read_manifest, utc_now, write_manifest
from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._corpus import Corpus
from fewshot.retrieve._hits import Hits
from fewshot.retrieve._index import DenseIndex

__all__ = ["DenseRetriever"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
ARTIFACT = "dense_retriever"


class _NoEncoder:
    """Stands in when a retriever was built from vectors only: text queries are refused."""

    def __init__(self, dim: int, name: str | None) -> None:
        self.dim = dim
        self.name = name or "external-vectors"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise InvalidInputError(
            "this retriever has no encoder: pass query vectors, or build it with an encoder to query by text"
        )


class DenseRetriever(BaseRetriever):
    """Nearest neighbours by embedding similarity (cosine by default).

    Parameters
    ----------
    corpus : Corpus
    encoder : Encoder, optional
        Embeds corpus texts (and queries unless ``query_encoder`` is given). Default: the
        bundled all-MiniLM-L6-v2 (`SentenceEncoder.from_pretrained`). A trained bi-encoder
        (UDR) plugs in here.
    query_encoder : Encoder, optional
        A separate query tower; must have the same ``dim``.
    index : DenseIndex, optional
        An index whose ids are this corpus's keys (e.g. loaded). Default: a new one.
    kind, metric, filter_strategy, n_threads, use_gpu
        Passed to a new `DenseIndex`.

    The corpus is embedded lazily: on the first search, or on `sync`. Later corpus changes
    are applied incrementally (only new or replaced items are embedded).
    Queries may be texts or vectors of shape (m, dim).
    """

    name: ClassVar[str] = "dense"
    accepts_vectors: ClassVar[bool] = True

    def __init__(
        self,
        corpus: Corpus,
        encoder: Encoder | None = None,
        *,
        query_encoder: Encoder | None = None,
        index: DenseIndex | None = None,
        kind: str = "auto",
        metric: str = "cosine",
        filter_strategy: str = "auto",
        n_threads: int | None = None,
        use_gpu: bool = False,
    ) -> None:
        super().__init__(corpus)
        self.encoder: Encoder = encoder if encoder is not None else SentenceEncoder.from_pretrained()
        self.query_encoder: Encoder = query_encoder if query_encoder is not None else self.encoder
        if self.query_encoder.dim != self.encoder.dim:
            raise InvalidInputError(
                f"query encoder dim {self.query_encoder.dim} != document encoder dim {self.encoder.dim}"
            )
        if index is None:
            index = DenseIndex(
                self.encoder.dim,
                kind=kind,
                metric=metric,
                embedding_model=self.encoder.name,
                filter_strategy=filter_strategy,
                n_threads=n_threads,
                use_gpu=use_gpu,
            )
        elif index.dim != self.encoder.dim:
            raise InvalidInputError(f"index dim {index.dim} != encoder dim {self.encoder.dim}")
        self.index = index
        self._synced = -1

    @classmethod
    def from_vectors(
        cls,
        corpus: Corpus,
        vectors: Any,
        *,
        encoder: Encoder | None = None,
        query_encoder: Encoder | None = None,
        embedding_model: str | None = None,
        **index_params: Any,
    ) -> DenseRetriever:
        """Build from pre-computed embeddings, one row per example in corpus order.

        vectors : array-like of shape (len(corpus), dim), rows aligned with ``iter(corpus)``.
        Without an encoder, only vector queries are accepted.
        """
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != len(corpus):
            raise InvalidInputError(f"vectors must have shape ({len(corpus)}, dim), got {x.shape}")
        if encoder is None:
            encoder = _NoEncoder(int(x.shape[1]), embedding_model)
        if encoder.dim != x.shape[1]:
            raise InvalidInputError(f"vectors have dim {x.shape[1]}, encoder {encoder.dim}")
        index = DenseIndex(encoder.dim, embedding_model=encoder.name, **index_params)
        index.add(corpus.keys(), x)
        out = cls(corpus, encoder, query_encoder=query_encoder, index=index)
        out._synced = corpus.version
        return out

    # ------------------------------------------------------------------ index upkeep
    def sync(self) -> None:
        """Embed and index corpus items added or replaced since the last sync; drop removed ones."""
        version = self.corpus.version
        if self._synced == version:
            return
        if self._synced < 0:
            live, have = self.corpus.keys(), self.index.ids
            to_add, to_remove = np.setdiff1d(live, have), np.setdiff1d(have, live)
        else:
            to_add, to_remove = self.corpus.changed_since(self._synced)
        if to_remove.size:
            self.index.remove(to_remove, missing_ok=True)
        if to_add.size:
            logger.info("embedding %d corpus items with %s", to_add.size, self.encoder.name)
            self.index.add(to_add, self.encoder.encode(self.corpus.texts_at(to_add)))
        self._synced = version

    # ------------------------------------------------------------------ search hooks
    def encode_queries(self, batch: list[str] | np.ndarray) -> np.ndarray:
        """Query vectors of shape (m, dim): texts are embedded, vectors checked."""
        if isinstance(batch, np.ndarray):
            if batch.ndim != 2 or batch.shape[1] != self.index.dim:
                raise InvalidInputError(f"query vectors must have shape (m, {self.index.dim}), got {batch.shape}")
            return batch.astype(np.float32, copy=False)
        return self.query_encoder.encode(batch)

    def _prepare(self, batch: list[str] | np.ndarray) -> np.ndarray:
        return self.encode_queries(batch)

    def _search(self, prepared: np.ndarray, k: int, allowed: np.ndarray | None) -> Hits:
        return self.index.search(prepared, k, allowed_ids=allowed)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``index/`` (a `DenseIndex`), ``corpus.jsonl`` and ``manifest.json``."""
        self.sync()
        directory = Path(directory)
        enc = self.encoder
        with atomic_dir(directory) as tmp:
            (tmp / "index").mkdir()
            self.index._write_into(tmp / "index")
            self.corpus.write_jsonl(tmp / "corpus.jsonl")
            write_manifest(
                tmp,
                {
                    "artifact": ARTIFACT,
                    "format_version": FORMAT_VERSION,
                    "kind": self.index.kind,
                    "metric": self.index.metric,
                    "dim": self.index.dim,
                    "embedding_model": enc.name,
                    "query_embedding_model": self.query_encoder.name,
                    "encoder_model": getattr(enc, "model_name", None),
                    "encoder_instruction": getattr(enc, "instruction", None),
                    "count": len(self.index),
                    "created": utc_now(),
                },
            )
        return directory

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        encoder: Encoder | None = None,
        query_encoder: Encoder | None = None,
        mmap: bool = False,
    ) -> DenseRetriever:
        """Read a retriever written by `save`.

        Without ``encoder``, a `SentenceEncoder` is loaded from the recorded model name and
        instruction. The encoder's ``name`` must match the one the index was built with.
        ``mmap``: map an exact index's vectors from the file, read-only (see `DenseIndex.load`).
        """
        directory = Path(directory)
        m = read_manifest(directory, kind=ARTIFACT, format_version=FORMAT_VERSION)
        if encoder is None:
            if not m.get("encoder_model"):
                raise InvalidInputError(
                    f"{directory}: built with a custom encoder {m.get('embedding_model')!r}; pass encoder="
                )
            encoder = SentenceEncoder.from_pretrained(m["encoder_model"], instruction=m.get("encoder_instruction"))
        if encoder.name != m.get("embedding_model"):
            raise InvalidInputError(
                f"{directory}: index was built with {m.get('embedding_model')!r}, got encoder {encoder.name!r}"
            )
        index = DenseIndex.load(directory / "index", dim=encoder.dim, embedding_model=encoder.name, mmap=mmap)
        corpus = Corpus.read_jsonl(directory / "corpus.jsonl")
        if not np.array_equal(np.sort(index.ids), corpus.keys()):
            raise InvalidInputError(f"{directory}: index ids do not match corpus.jsonl keys")
        out = cls(corpus, encoder, query_encoder=query_encoder, index=index)
        out._synced = corpus.version
        return out
