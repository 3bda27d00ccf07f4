"""`CachedEncoder`: stored vectors by content hash, the model only for unknown texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from fewshot.embed._encoder import Encoder
from fewshot.hashing import content_hash

__all__ = ["CachedEncoder", "VectorLookup"]


class VectorLookup(Protocol):
    """Vectors stored by content hash (`fewshot.store.vectors.VectorStore` is one)."""

    def contains(self, hashes: Sequence[str]) -> np.ndarray:
        """Boolean mask, shape ``(len(hashes),)``."""
        ...

    def get(self, hashes: Sequence[str]) -> np.ndarray:
        """Vectors of known hashes, shape ``(len(hashes), dim)`` float32."""
        ...


class CachedEncoder:
    """An `Encoder` that reads stored vectors by content hash and embeds only unknown texts
    (queries) with ``encoder``. Output rows are L2-normalised (cosine geometry).

    A single text is always encoded (a query: looking it up would cost more than it saves).
    """

    def __init__(self, store: VectorLookup, encoder: Encoder) -> None:
        self.store, self.encoder = store, encoder
        self.name, self.dim = encoder.name, encoder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, rows of unit norm."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        hashes = [content_hash(t) for t in texts] if len(texts) > 1 else []
        known = self.store.contains(hashes) if hashes else np.zeros(len(texts), dtype=bool)
        if known.any():
            rows = np.flatnonzero(known)
            vec = self.store.get([hashes[i] for i in rows])
            out[rows] = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
        rest = np.flatnonzero(~known)
        if rest.size:
            out[rest] = self.encoder.encode([texts[i] for i in rest])
        return out
