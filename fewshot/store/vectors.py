"""Embedding vectors on disk, keyed by content hash, per (pool, embedding model).

Layout (one folder per pool and model)::

    {home}/vectors/pool-{pool_id}/{model_slug}/
        manifest.json             format_version, model, dim, dtype
        shard-000001.npy          float32 (rows, dim)
        shard-000001.keys.npy     |S32 (rows,) sha256 digests of the rendered texts

A shard is written to a temporary name and renamed into place (keys last), so a crash leaves
either a complete shard or none: re-running an embedding resumes from the shards present.
Looking vectors up by hash is vectorised (sorted keys + ``searchsorted``), so pools of millions
of rows never need a Python dict, and the shards are memory-mapped, not read into memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import ConflictError, InvalidInputError
from ..hashing import hash_to_key

__all__ = ["VectorStore"]

FORMAT_VERSION = 1
_SHARD_RE = re.compile(r"^shard-(\d{6})\.keys\.npy$")


def _model_slug(model: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", model.strip("/"))[-60:]
    return f"{readable}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def _atomic_save(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class _Loaded:
    keys: np.ndarray  # sorted |S32
    shard_of: np.ndarray  # int32 per sorted key
    row_of: np.ndarray  # int64 per sorted key
    shards: list[np.ndarray]  # memory-mapped matrices


class VectorStore:
    """Vectors of one (pool, model), addressed by content hash."""

    def __init__(self, root: Path, *, pool_id: int, model: str) -> None:
        self.model = model
        self.path = Path(root) / f"pool-{pool_id}" / _model_slug(model)
        self._loaded: _Loaded | None = None

    # -- metadata -------------------------------------------------------------------------
    @property
    def dim(self) -> int | None:
        manifest = self.path / "manifest.json"
        if not manifest.exists():
            return None
        return int(json.loads(manifest.read_text())["dim"])

    def _shard_numbers(self) -> list[int]:
        if not self.path.exists():
            return []
        return sorted(int(m.group(1)) for p in self.path.iterdir() if (m := _SHARD_RE.match(p.name)))

    def __len__(self) -> int:
        return len(self._load().keys)

    # -- writing --------------------------------------------------------------------------
    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Write one shard. ``vectors`` is (len(hashes), dim) float32."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(hashes):
            raise InvalidInputError(f"expected {len(hashes)} vectors, got array of shape {vectors.shape}")
        if len(hashes) == 0:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        dim = self.dim
        if dim is None:
            manifest = {
                "format_version": FORMAT_VERSION,
                "kind": "vectors",
                "model": self.model,
                "dim": int(vectors.shape[1]),
                "dtype": "float32",
                "metric": "cosine",
            }
            tmp = self.path / ".manifest.json.tmp"
            tmp.write_text(json.dumps(manifest, indent=2))
            os.replace(tmp, self.path / "manifest.json")
        elif dim != vectors.shape[1]:
            raise ConflictError(f"vectors of model {self.model!r} have dim {dim}, got {vectors.shape[1]}")
        numbers = self._shard_numbers()
        number = (numbers[-1] + 1) if numbers else 1
        _atomic_save(self.path / f"shard-{number:06d}.npy", vectors)
        _atomic_save(self.path / f"shard-{number:06d}.keys.npy", hash_to_key(hashes))  # commit point
        self._loaded = None

    def clear(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        self._loaded = None

    # -- reading --------------------------------------------------------------------------
    def _load(self) -> _Loaded:
        if self._loaded is not None:
            return self._loaded
        keys, shard_of, row_of, shards = [], [], [], []
        for i, number in enumerate(self._shard_numbers()):
            k = np.load(self.path / f"shard-{number:06d}.keys.npy")
            mat = np.load(self.path / f"shard-{number:06d}.npy", mmap_mode="r")
            if mat.shape[0] != k.shape[0]:  # cannot happen with atomic writes; refuse to guess
                raise ConflictError(f"vector shard {number} is inconsistent: {mat.shape[0]} rows, {len(k)} keys")
            keys.append(k)
            shard_of.append(np.full(len(k), i, dtype=np.int32))
            row_of.append(np.arange(len(k), dtype=np.int64))
            shards.append(mat)
        if keys:
            all_keys = np.concatenate(keys)
            order = np.argsort(all_keys, kind="stable")
            loaded = _Loaded(all_keys[order], np.concatenate(shard_of)[order], np.concatenate(row_of)[order], shards)
        else:
            loaded = _Loaded(np.empty(0, dtype="S32"), np.empty(0, np.int32), np.empty(0, np.int64), [])
        self._loaded = loaded
        return loaded

    def _positions(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        loaded = self._load()
        pos = np.searchsorted(loaded.keys, keys)
        pos_c = np.minimum(pos, max(len(loaded.keys) - 1, 0))
        found = (
            (pos < len(loaded.keys)) & (loaded.keys[pos_c] == keys) if len(loaded.keys) else np.zeros(len(keys), bool)
        )
        return pos_c, found

    def contains(self, hashes: Sequence[str]) -> np.ndarray:
        """Boolean mask: which hashes already have a vector."""
        if len(hashes) == 0:
            return np.zeros(0, dtype=bool)
        return self._positions(hash_to_key(hashes))[1]

    def get(self, hashes: Sequence[str]) -> np.ndarray:
        """Vectors for ``hashes`` in the given order, (len(hashes), dim) float32."""
        loaded = self._load()
        keys = hash_to_key(hashes)
        pos, found = self._positions(keys)
        if not found.all():
            missing = np.flatnonzero(~found)
            raise ConflictError(
                f"{len(missing)} of {len(hashes)} texts have no vector for model {self.model!r} "
                f"(first: {hashes[int(missing[0])][:12]}...); run `fewshot embed` first"
            )
        dim = self.dim or 0
        out = np.empty((len(hashes), dim), dtype=np.float32)
        shard_of, row_of = loaded.shard_of[pos], loaded.row_of[pos]
        for s, mat in enumerate(loaded.shards):
            sel = np.flatnonzero(shard_of == s)
            if len(sel):
                out[sel] = mat[row_of[sel]]
        return out

    def compact(self) -> None:
        """Merge all shards into one (atomically), dropping duplicate keys."""
        numbers = self._shard_numbers()
        if len(numbers) <= 1:
            return
        loaded = self._load()
        keys, first = np.unique(loaded.keys, return_index=True)
        mats = np.empty((len(keys), self.dim or 0), dtype=np.float32)
        for s, mat in enumerate(loaded.shards):
            sel = np.flatnonzero(loaded.shard_of[first] == s)
            mats[sel] = mat[loaded.row_of[first][sel]]
        new = numbers[-1] + 1
        _atomic_save(self.path / f"shard-{new:06d}.npy", mats)
        _atomic_save(self.path / f"shard-{new:06d}.keys.npy", keys)
        for n in numbers:  # keys first: a crash in between leaves duplicates, never orphans
            (self.path / f"shard-{n:06d}.keys.npy").unlink(missing_ok=True)
            (self.path / f"shard-{n:06d}.npy").unlink(missing_ok=True)
        self._loaded = None
