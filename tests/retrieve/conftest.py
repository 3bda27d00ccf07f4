"""Fixtures for retrieval tests: real SST-5 / GSM8K slices and the bundled MiniLM encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shared_data import read_jsonl

from fewshot.retrieve import Corpus, DenseRetriever, SentenceEncoder

N_SST5 = 500


@pytest.fixture(scope="session")
def sst5_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "sst5" / "train.jsonl", N_SST5)


@pytest.fixture(scope="session")
def sst5_test_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "sst5" / "test.jsonl", 20)


@pytest.fixture
def sst5_corpus(sst5_rows: list[dict]) -> Corpus:
    """A fresh corpus per test (tests mutate it); label = class index, fields.label_text."""
    return Corpus.from_records(sst5_rows)


@pytest.fixture(scope="session")
def gsm8k_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "gsm8k" / "train.jsonl", 300)


@pytest.fixture
def gsm8k_corpus(gsm8k_rows: list[dict]) -> Corpus:
    return Corpus.from_records(gsm8k_rows, text_field="question", label_field=None, output_field="answer")


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.from_pretrained()


@pytest.fixture(scope="session")
def sst5_vectors(encoder: SentenceEncoder, sst5_rows: list[dict]) -> np.ndarray:
    """Embeddings of the SST-5 slice, shape (500, 384), computed once."""
    return encoder.encode([r["text"] for r in sst5_rows])


@pytest.fixture
def dense(sst5_corpus: Corpus, sst5_vectors: np.ndarray, encoder: SentenceEncoder) -> DenseRetriever:
    return DenseRetriever.from_vectors(sst5_corpus, sst5_vectors, encoder=encoder)
