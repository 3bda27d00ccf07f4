"""Evaluation reads retriever and method names from the registries: a retriever registered in a
test runs in an eval without editing any other file; the dense-based ones get the run's dense
retriever."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from fewshot.annotate import STRATEGIES, RandomSelection
from fewshot.evaluation import EvalConfig, run_eval
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import RETRIEVERS, BaseRetriever, Corpus, Hits


class FirstK(BaseRetriever):
    """A toy retriever: the first ``k`` corpus items (after ``offset``) for every query."""

    name: ClassVar[str] = "first_k"
    built: ClassVar[list[FirstK]] = []

    def __init__(self, corpus: Corpus, *, offset: int = 0, seed: int | None = None) -> None:
        super().__init__(corpus)
        self.offset = offset
        self.seed = seed
        self.queries: list[str] = []
        self.returned: list[np.ndarray] = []
        FirstK.built.append(self)

    def _prepare(self, batch):
        self.queries.extend(batch)
        return list(batch)

    def _search(self, prepared, k, allowed):
        keys = self.corpus.keys() if allowed is None else allowed
        take = keys[self.offset : self.offset + k]
        hits = Hits.empty(len(prepared), k)
        hits.ids[:, : take.size] = take
        hits.scores[:, : take.size] = 0.0
        self.returned.append(take)
        return hits


@pytest.fixture
def first_k():
    RETRIEVERS.register("first_k", FirstK)
    try:
        yield FirstK
    finally:
        RETRIEVERS.unregister("first_k")
        FirstK.built.clear()


def _config(mini_data, out, **kw):
    base = dict(
        datasets=["sst5"],
        methods=["random"],
        budgets=[6],
        seeds=[0, 1],
        pool_size=100,
        test_size=10,
        k=3,
        data_dir=str(mini_data),
        out=str(out),
    )
    base.update(kw)
    return EvalConfig(**base)


def test_a_registered_retriever_runs_in_an_eval(first_k, mini_data, embedder, tmp_path):
    cfg = _config(mini_data, tmp_path, retrievers=["first_k", "dense"], retriever_params={"first_k": {"offset": 1}})
    result = run_eval(cfg, embedder=embedder, write=False)
    toy_runs = [r for r in result.runs if r.retriever == "first_k"]
    assert len(toy_runs) == 2 and len(result.runs) == 4
    assert [r.seed for r in toy_runs] == [0, 1]
    assert all(r.mean_demos == 3 and 0.0 <= r.accuracy <= 1.0 for r in toy_runs)
    assert {r.retriever for r in result.summary} == {"first_k", "dense"}
    # one retriever per selection, over the annotated items only, queried with the test texts
    scored = result.datasets["sst5"]["test_ids"]
    assert len(first_k.built) == 2
    for built, run in zip(first_k.built, toy_runs):
        assert [str(ex.id) for ex in built.corpus] == run.selected_ids
        assert (built.offset, built.seed) == (1, run.seed)  # params from the config, the run's seed
        assert len(built.queries) == len(scored) and all(isinstance(q, str) for q in built.queries)
        assert [a.tolist() for a in built.returned] == [[1, 2, 3]]


def test_retriever_names_are_read_when_the_config_is_built(mini_data, tmp_path):
    with pytest.raises(InvalidInputError, match="'first_k'"):
        _config(mini_data, tmp_path, retrievers=["first_k"])
    RETRIEVERS.register("first_k", FirstK)
    try:
        assert _config(mini_data, tmp_path, retrievers=["first_k"]).retrievers == ["first_k"]
        with pytest.raises(InvalidInputError, match=r"does not take \['seed'\]"):
            _config(mini_data, tmp_path, retriever_params={"first_k": {"seed": 3}})
        with pytest.raises(InvalidInputError, match=r"\['nope'\]"):
            _config(mini_data, tmp_path, retriever_params={"first_k": {"nope": 3}})
    finally:
        RETRIEVERS.unregister("first_k")
    with pytest.raises(InvalidInputError, match="'first_k'"):
        _config(mini_data, tmp_path, retriever_params={"first_k": {}})
    with pytest.raises(InvalidInputError, match="takes nothing"):
        _config(mini_data, tmp_path, retriever_params={"dense": {"kind": "hnsw"}})


def test_method_names_are_read_when_the_config_is_built(mini_data, tmp_path):
    with pytest.raises(InvalidInputError, match="'every_item'"):
        _config(mini_data, tmp_path, methods=["every_item"])
    STRATEGIES.register("every_item", RandomSelection)
    try:
        assert _config(mini_data, tmp_path, methods=["every_item"]).methods == ["every_item"]
    finally:
        STRATEGIES.unregister("every_item")
    with pytest.raises(InvalidInputError, match="confidence"):
        _config(mini_data, tmp_path, methods=["votek2"])


def test_dense_based_retrievers_rerank_the_runs_dense_search(mini_data, embedder, tmp_path):
    cfg = _config(
        mini_data,
        tmp_path,
        seeds=[0],
        retrievers=["dense", "mmr", "label_balanced"],
        retriever_params={"mmr": {"lambda_": 1.0}},
    )
    result = run_eval(cfg, embedder=embedder, write=False)
    runs = {r.retriever: r for r in result.runs}
    assert set(runs) == {"dense", "mmr", "label_balanced"}
    # MMR with lambda_ = 1 keeps the dense order: the same demonstrations, the same proxy score
    assert runs["mmr"].accuracy == runs["dense"].accuracy
    assert all(r.mean_demos == 3 for r in runs.values())
