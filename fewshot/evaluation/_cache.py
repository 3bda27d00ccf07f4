"""On-disk caches that make an evaluation resumable, all under ``<out>/cache/``.

* ``embeddings/<dataset>-<model hash>.npz`` -- embeddings of every text seen so far, rows keyed
  by a hash of the text (a new pool draw embeds only new texts).
* ``selections/<dataset>-<method>-b<B>-s<seed>-<hash>.json`` -- the ordered picks of one
  (method, budget, seed) on one pool, keyed by a hash of the pool's item ids, the embedding
  hash, centring, the method parameters and `selection_code_version` (so a change to the
  selection code recomputes, never reuses, a cached selection).
* ``lm.sqlite`` -- language-model answers keyed by (model, prompt, options or generation
  settings); buffered and written every few answers, so an interrupted run keeps what it scored
  (`LMCache`, defined in `fewshot.lm._cache` and re-exported here).

Counters (`CacheStats`) say how much was reused, which is what the resume tests check.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.hashing import content_hash as text_hash
from fewshot.lm._cache import LMCache

__all__ = ["CacheStats", "content_hash", "EmbeddingCache", "SelectionCache", "LMCache", "selection_code_version"]

logger = logging.getLogger(__name__)


def content_hash(*parts: Any) -> str:
    """sha256 hex of the canonical JSON of ``parts``."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CacheStats:
    """What one run computed versus reused."""

    embeddings_computed: int = 0  # texts embedded
    embeddings_cached: int = 0  # texts found in the cache
    selections_computed: int = 0
    selections_cached: int = 0
    lm_computed: int = 0
    lm_cached: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


class EmbeddingCache:
    """Embeddings per dataset and model in one growing ``.npz`` (rows keyed by a hash of each
    text), so a new seed's pool draw only embeds the texts not seen before."""

    def __init__(self, root: Path, stats: CacheStats) -> None:
        self.root = Path(root) / "embeddings"
        self.stats = stats

    def path(self, dataset: str, model: str) -> Path:
        return self.root / f"{dataset}-{content_hash('model', model)[:12]}.npz"

    def get_or_compute(self, dataset: str, model: str, texts: Sequence[str], encode) -> tuple[np.ndarray, str]:
        """``(matrix of shape (len(texts), dim), content hash)``; ``encode(list of texts)`` runs
        on the texts missing from the cache only."""
        keys = [text_hash(t)[:32] for t in texts]
        path = self.path(dataset, model)
        have_keys: list[str] = []
        have = np.zeros((0, 0), dtype=np.float32)
        if path.exists():
            try:
                with np.load(path) as data:
                    have_keys, have = data["keys"].tolist(), data["X"]
            except (OSError, KeyError, ValueError):
                logger.warning("unreadable embedding cache %s; recomputing", path)
        row = {k: i for i, k in enumerate(have_keys)}
        missing = list(dict.fromkeys(k for k in keys if k not in row))
        if missing:
            first = {k: t for k, t in zip(keys, texts)}
            new = np.ascontiguousarray(encode([first[k] for k in missing]), dtype=np.float32)
            have = new if not have_keys else np.concatenate([have, new])
            for k in missing:
                row[k] = len(row)
            have_keys = have_keys + missing

            def write(p: Path) -> None:
                with open(p, "wb") as fh:
                    np.savez(fh, X=have, keys=np.array(have_keys))

            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, write)
        self.stats.embeddings_computed += len(missing)
        self.stats.embeddings_cached += len(set(keys)) - len(missing)
        X = have[[row[k] for k in keys]] if keys else np.zeros((0, have.shape[1]), np.float32)
        return X, content_hash("embeddings", model, keys)[:20]


@functools.cache
def selection_code_version() -> str:
    """A 16-hex digest of the source of the selection code (`fewshot.annotate` and
    `fewshot.feedback`), part of every selection cache key so that a cached selection made by
    other code is recomputed, not reused. Read once per process."""
    import fewshot.annotate
    import fewshot.feedback

    h = hashlib.sha256()
    for pkg in (fewshot.annotate, fewshot.feedback):
        root = Path(next(iter(pkg.__path__)))
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root.parent)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


class SelectionCache:
    """Ordered selections (pool row numbers) as small JSON files."""

    def __init__(self, root: Path, stats: CacheStats) -> None:
        self.root = Path(root) / "selections"
        self.stats = stats

    def path(self, dataset: str, method: str, budget: int, seed: int, key: str) -> Path:
        return self.root / f"{dataset}-{method}-b{budget}-s{seed}-{key[:16]}.json"

    def get_or_compute(self, dataset: str, method: str, budget: int, seed: int, key: str, compute) -> dict[str, Any]:
        """The cached record, or ``compute()`` (a dict with ``indices``, ``seconds``...) saved."""
        path = self.path(dataset, method, budget, seed, key)
        if path.exists():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if record.get("key") == key and len(record.get("indices", ())) == budget:
                    self.stats.selections_cached += 1
                    return record
            except (OSError, json.JSONDecodeError):
                logger.warning("unreadable selection cache %s; recomputing", path)
        record = dict(compute())
        record["key"] = key
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda p: p.write_text(json.dumps(record, default=_json_default), encoding="utf-8"))
        self.stats.selections_computed += 1
        return record


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
