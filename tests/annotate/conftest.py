"""Fixtures for the selection tests: real embeddings (cached), synthetic matrices, and the slow
research reference (benchmarks/_research_reference.py)."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_data import REPO
from shared_data import read_jsonl as _read_jsonl


@pytest.fixture(scope="session")
def ref():
    """The plain-loop research reference module."""
    path = str(REPO / "benchmarks")
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("_research_reference")


@pytest.fixture(scope="session")
def minilm():
    pytest.importorskip("sentence_transformers")
    from fewshot.embed import load_sentence_transformer

    return load_sentence_transformer("all-MiniLM-L6-v2", device="cpu")


@pytest.fixture(scope="session")
def embed_texts(request, tmp_path_factory):
    """``embed_texts(texts)``: MiniLM embeddings, kept in pytest's cache folder (when the cache
    plugin is on) so that the model is loaded only when the cache misses."""
    cache = getattr(request.config, "cache", None)
    cache_dir = (
        Path(cache.mkdir("fewshot-annotate-embeddings")) if cache is not None else tmp_path_factory.mktemp("embeddings")
    )
    model: list = []

    def embed(texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\x00".join(["all-MiniLM-L6-v2", *texts]).encode()).hexdigest()
        path = cache_dir / f"{digest[:24]}.npy"
        if path.exists():
            return np.load(path)
        if not model:
            model.append(request.getfixturevalue("minilm"))
        vecs = np.asarray(
            model[0].encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False), dtype=np.float32
        )
        np.save(path, vecs)
        return vecs

    return embed


@pytest.fixture(scope="session")
def sst5_vectors(embed_texts, data_dir) -> np.ndarray:
    """MiniLM embeddings of the first 1,200 SST-5 training sentences."""
    return embed_texts([r["text"] for r in _read_jsonl(data_dir / "sst5" / "train.jsonl", 1200)])


@pytest.fixture(scope="session")
def rte_vectors(embed_texts, data_dir) -> np.ndarray:
    """MiniLM embeddings of the first 300 RTE pairs, rendered "{premise}<newline>question: {hypothesis}"."""
    rows = _read_jsonl(data_dir / "rte" / "train.jsonl", 300)
    return embed_texts([f"{r['premise']}\nquestion: {r['hypothesis']}" for r in rows])


def clustered(n: int, d: int, n_clusters: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, d))
    labels = rng.integers(0, n_clusters, size=n)
    return (centers[labels] + spread * rng.normal(size=(n, d))).astype(np.float32)


@pytest.fixture(scope="session")
def make_clustered():
    """``make_clustered(n, d, n_clusters, spread, seed)``: Gaussian blobs, float32."""
    return clustered
