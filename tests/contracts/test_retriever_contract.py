"""Every registered retriever (`fewshot.retrieve.RETRIEVERS`), and the UDR encoder's dense
retriever, keep the retrieval contract (``checks.RETRIEVER_CHECKS``) over 120 real SST-5 items."""

from __future__ import annotations

import numpy as np
import pytest
from checks import RETRIEVER_CHECKS, RetrieverCase, check_retriever_registration, make_retriever

from fewshot.retrieve import RETRIEVERS, DenseRetriever

NAMES = RETRIEVERS.names()  # at collection time
CHECK_IDS = lambda f: f.__name__.removeprefix("check_retriever_")  # noqa: E731

UDR_TASK = "sst5"


@pytest.mark.parametrize("name", NAMES)
def test_registration(name):
    check_retriever_registration(name)


def _applies(name: str, check) -> bool:
    """The save/load check applies only to classes that can be saved and loaded."""
    cls = RETRIEVERS.get(name)
    return check.__name__ != "check_retriever_save_load" or (
        callable(getattr(cls, "save", None)) and callable(getattr(cls, "load", None))
    )


CASES = [
    pytest.param(name, check, id=f"{CHECK_IDS(check)}-{name}")
    for check in RETRIEVER_CHECKS
    for name in NAMES
    if _applies(name, check)
]


@pytest.mark.parametrize(("name", "check"), CASES)
def test_retriever_contract(name, check, corpus, dense, sst5_queries, retriever_traits, tmp_path):
    traits = retriever_traits(name)
    check(
        RetrieverCase(
            make=lambda: make_retriever(name, corpus, dense=dense, params=traits["params"]),
            queries=sst5_queries,
            ranked_by_score=traits["ranked_by_score"],
            repeatable=traits["repeatable"],
            tmp_path=tmp_path,
        )
    )


def test_dense_loads_without_an_encoder(corpus, sst5_vectors, encoder, sst5_queries, tmp_path):
    """A dense retriever over the bundled model reloads its encoder from the manifest alone."""
    r = DenseRetriever.from_vectors(corpus, sst5_vectors, encoder=encoder)
    loaded = DenseRetriever.load(r.save(tmp_path / "dense"))
    assert loaded.encoder.name == encoder.name
    want = [[d.id for d in x] for x in r.retrieve(sst5_queries, 5)]
    assert [[d.id for d in x] for x in loaded.retrieve(sst5_queries, 5)] == want


# -- the trained-UDR encoder (a DenseRetriever with inner-product search), built untrained --------


@pytest.fixture(scope="module")
def udr_model(embedder):
    """A `UDRModel` over the bundled MiniLM without its Normalize layer (no training: the
    contract is about the retriever, not the quality)."""
    pytest.importorskip("sentence_transformers")
    from fewshot.udr import UDRModel, prepare_model

    return UDRModel(prepare_model(embedder.model), {UDR_TASK: "Sentiment of the review: "}, name="udr-contract")


@pytest.fixture(scope="module")
def udr_dense(udr_model, corpus):
    retriever = udr_model.retriever(corpus, UDR_TASK)
    retriever.sync()  # embeds the corpus once
    return retriever


def _udr_case(udr_model, udr_dense, corpus, queries, tmp_path) -> RetrieverCase:
    return RetrieverCase(
        make=lambda: udr_model.retriever(corpus, UDR_TASK, index=udr_dense.index), queries=queries, tmp_path=tmp_path
    )


@pytest.mark.parametrize("check", RETRIEVER_CHECKS, ids=CHECK_IDS)
def test_udr_retriever_contract(check, udr_model, udr_dense, corpus, sst5_queries, tmp_path):
    check(_udr_case(udr_model, udr_dense, corpus, sst5_queries, tmp_path))


def test_udr_scores_are_inner_products(udr_model, udr_dense, corpus, sst5_queries):
    """Scores are dot products of the unnormalised, instruction-prefixed query and item vectors."""
    assert udr_dense.index.metric == "ip"
    q = udr_model.encode(sst5_queries[:2], UDR_TASK)
    assert not np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)  # no Normalize layer
    for qv, demos in zip(q, udr_dense.retrieve(sst5_queries[:2], 5)):
        docs = udr_model.encode([d.text for d in demos], UDR_TASK)
        np.testing.assert_allclose([d.score for d in demos], docs @ qv, rtol=1e-4, atol=1e-3)
        best = udr_model.encode([ex.text for ex in corpus], UDR_TASK) @ qv
        assert demos[0].score == pytest.approx(float(best.max()), rel=1e-4, abs=1e-3)


def test_udr_model_save_load_round_trip(udr_model, udr_dense, corpus, sst5_queries, tmp_path):
    """A saved and reloaded UDR model retrieves the same demonstrations with the same scores."""
    from fewshot.udr import load_udr_model

    loaded = load_udr_model(udr_model.save(tmp_path / "udr"), device="cpu")
    assert loaded.name == udr_model.name and loaded.instructions == udr_model.instructions
    got = loaded.retriever(corpus, UDR_TASK).retrieve(sst5_queries, 5)
    want = udr_dense.retrieve(sst5_queries, 5)
    assert [[d.id for d in x] for x in got] == [[d.id for d in x] for x in want]
    np.testing.assert_allclose(
        [[d.score for d in x] for x in got], [[d.score for d in x] for x in want], rtol=1e-4, atol=1e-3
    )
