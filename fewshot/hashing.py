"""Content hashes: the one key under which a rendered text's vector, feedback score or cache
entry is stored (base floor: no fewshot imports)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["content_hash", "hash_to_key"]


def content_hash(text: str) -> str:
    """sha256 hex digest (64 characters) of ``text`` encoded as UTF-8.

    >>> content_hash("a")[:12]
    'ca978112ca1b'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_to_key(hashes: Sequence[str]) -> np.ndarray:
    """Hex digests -> ``|S32`` array of raw digests, shape ``(len(hashes),)``."""
    return np.array([bytes.fromhex(h) for h in hashes], dtype="S32").reshape(-1)
