"""Real GSM8K slices, a dense retriever over them with the bundled encoder, and a tiny GPT-2."""

from __future__ import annotations

import re

import pytest
from shared_data import math_skill_sample, read_jsonl, uses_shipped_slices

CALC = re.compile(r"<<[^<>]*>>")


@pytest.fixture(scope="session")
def gsm_train(data_dir) -> list[dict]:
    """The first 200 GSM8K train rows (13 of the 14 skills occur; profit_loss first appears at row 437)."""
    return read_jsonl(data_dir / "gsm8k" / "train.jsonl", 200)


@pytest.fixture(scope="session")
def gsm_test(data_dir) -> list[dict]:
    return read_jsonl(data_dir / "gsm8k" / "test.jsonl", 40)


@pytest.fixture(scope="session")
def math_slice(data_dir) -> list[dict]:
    """300 seeded MATH train problems whose skill is one of the 8 most frequent ones
    (``math_skill_sample``; the shipped tests/data/math/train.jsonl is that sample, in order)."""
    rows = read_jsonl(data_dir / "math" / "train.jsonl")
    return rows if uses_shipped_slices(data_dir) else math_skill_sample(rows, n=300, top=8, seed=0)


@pytest.fixture(scope="session")
def encoder(embedder):
    from fewshot.retrieve import SentenceEncoder

    return SentenceEncoder(embedder.model, name=embedder.model_name, n_threads=1)


@pytest.fixture(scope="session")
def gsm_retriever(gsm_train, encoder):
    from fewshot.retrieve import Corpus, DenseRetriever, Example

    corpus = Corpus(
        Example(
            id=f"train-{i}",
            text=r["question"],
            label=r["final_answer"],
            output=CALC.sub("", r["answer"]),
            skills=tuple(r["skills"]),
        )
        for i, r in enumerate(gsm_train)
    )
    retriever = DenseRetriever(corpus, encoder, kind="flat")
    retriever.sync()
    return retriever


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
