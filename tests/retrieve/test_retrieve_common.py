"""Contract checks every retriever must pass (batch = per-query, filters, ranks, k)."""

from __future__ import annotations

import numpy as np
import pytest

import fewshot.retrieve as retrieve
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import (
    BM25Retriever,
    Filter,
    LabelBalancedRetriever,
    MMRRetriever,
    RandomRetriever,
    Retriever,
)

NAMES = ["random", "bm25", "dense", "mmr", "label_balanced"]


@pytest.fixture(params=NAMES)
def make(request, dense):
    """A factory so that seeded retrievers can be rebuilt fresh."""
    name = request.param

    def build():
        return {
            "random": lambda: RandomRetriever(dense.corpus, seed=3),
            "bm25": lambda: BM25Retriever(dense.corpus),
            "dense": lambda: dense,
            "mmr": lambda: MMRRetriever(dense, lambda_=0.6),
            "label_balanced": lambda: LabelBalancedRetriever(dense),
        }[name]()

    return build


def test_public_names_exist():
    for name in retrieve.__all__:
        assert hasattr(retrieve, name), name


def test_protocol(make):
    assert isinstance(make(), Retriever)


def test_batch_equals_per_query(make, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows[:5]]
    flt = Filter(labels=[0, 1, 3])
    batch = make().search(queries, 6, filter=flt)
    single = make()
    for i, q in enumerate(queries):
        one = single.search([q], 6, filter=flt)
        np.testing.assert_array_equal(one.ids[0], batch.ids[i])
        np.testing.assert_allclose(one.scores[0], batch.scores[i], rtol=1e-5, atol=1e-6)


def test_results_shape_ranks_and_filter(make, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows[:5]]
    flt = Filter(labels=[2, 4], exclude_ids=["sst5-train-7"])
    results = make().retrieve(queries, 7, filter=flt)
    assert len(results) == len(queries)
    for demos in results:
        assert len(demos) == 7
        assert [d.rank for d in demos] == list(range(7))
        assert len({d.id for d in demos}) == 7
        assert all(d.label in (2, 4) and d.id != "sst5-train-7" for d in demos)


def test_empty_filter_result_and_bad_k(make):
    r = make()
    assert r.retrieve(["anything"], 3, filter=Filter(labels=["no-such-label"])) == [[]]
    assert r.retrieve([], 3) == []
    with pytest.raises(InvalidInputError):
        r.retrieve(["q"], 0)
