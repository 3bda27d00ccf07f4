"""Retrievers over a real SST-5 slice with the bundled MiniLM encoder."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import (
    BM25Retriever,
    Corpus,
    DenseRetriever,
    Example,
    Filter,
    LabelBalancedRetriever,
    MMRRetriever,
    RandomRetriever,
    SentenceEncoder,
    get_retriever,
)


def mean_pairwise_similarity(vectors: np.ndarray) -> float:
    sims = vectors @ vectors.T
    n = len(vectors)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


# ---------------------------------------------------------------------------- dense
def test_dense_text_query_finds_the_item_itself(dense, sst5_rows):
    queries = [r["text"] for r in sst5_rows[:10]]
    results = dense.retrieve(queries, 5)
    assert [demos[0].id for demos in results] == [r["id"] for r in sst5_rows[:10]]
    for demos in results:
        assert [d.rank for d in demos] == list(range(5))
        assert demos[0].score == pytest.approx(1.0, abs=1e-4)
        assert all(a.score >= b.score for a, b in zip(demos, demos[1:]))


def test_dense_filter_inside_faiss_returns_k_allowed(dense, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows]
    rare = Filter(ids=[f"sst5-train-{i}" for i in range(0, 500, 50)])  # 10 of 500
    results = dense.retrieve(queries, 8, filter=rare)
    assert all(len(demos) == 8 for demos in results)
    assert all(d.id in rare.ids for demos in results for d in demos)
    by_label = dense.retrieve(queries, 6, filter=Filter(labels=[0]))
    assert all(len(x) == 6 and all(d.label == 0 for d in x) for x in by_label)
    by_field = dense.retrieve(queries, 6, filter=Filter(fields={"label_text": "okay"}))
    assert all(d.example.fields["label_text"] == "okay" for x in by_field for d in x)


def test_dense_per_query_filters(dense, sst5_rows):
    queries = [r["text"] for r in sst5_rows[:4]]
    filters = [Filter(exclude_ids=[r["id"]]) for r in sst5_rows[:4]]
    results = dense.retrieve(queries, 3, filter=filters)
    for row, demos in zip(sst5_rows, results):
        assert row["id"] not in [d.id for d in demos] and len(demos) == 3
    with pytest.raises(InvalidInputError):
        dense.retrieve(queries, 3, filter=filters[:2])


def test_dense_vector_queries_match_text_queries(dense, sst5_vectors, sst5_rows):
    by_text = dense.search([r["text"] for r in sst5_rows[:5]], 4)
    by_vec = dense.search(sst5_vectors[:5], 4)
    np.testing.assert_array_equal(by_text.ids, by_vec.ids)


def test_dense_follows_corpus_changes(sst5_corpus, encoder):
    small = Corpus(list(sst5_corpus)[:50])
    dense = DenseRetriever(small, encoder)  # embeds lazily on first search
    new = Example(id="new", text="an utterly magnificent , moving masterpiece", label=4)
    small.add([new])
    assert dense.retrieve(new.text, 1)[0][0].id == "new"
    # replacing an item re-embeds it under the same key
    small.add([Example(id="new", text="a tedious , joyless slog", label=0)])
    assert dense.retrieve("joyless and tedious", 1)[0][0].id == "new"
    assert len(dense.index) == 51
    small.remove(["new"])
    assert "new" not in [d.id for d in dense.retrieve(new.text, 5)[0]]
    assert len(dense.index) == 50


def test_dense_save_load(dense, encoder, sst5_rows, tmp_path):
    dense.save(tmp_path / "dense")
    back = DenseRetriever.load(tmp_path / "dense", encoder=encoder)
    q = [r["text"] for r in sst5_rows[100:110]]
    np.testing.assert_array_equal(dense.search(q, 5).ids, back.search(q, 5).ids)


def test_dense_without_encoder_refuses_text(sst5_corpus, sst5_vectors):
    r = DenseRetriever.from_vectors(sst5_corpus, sst5_vectors)
    assert r.search(sst5_vectors[:2], 1).ids[:, 0].tolist() == [0, 1]
    with pytest.raises(InvalidInputError, match="no encoder"):
        r.search(["some text"], 1)


# ---------------------------------------------------------------------------- bm25
def test_bm25_finds_lexical_matches(sst5_corpus):
    bm25 = BM25Retriever(sst5_corpus)
    target = sst5_corpus["sst5-train-0"]  # "... re-imagining of beauty and the beast ..."
    top = bm25.retrieve("beauty and the beast re-imagining", 3)[0]
    assert top[0].id == target.id and top[0].score > top[1].score
    word = "porridge"
    holders = {ex.id for ex in sst5_corpus if word in ex.text.split()}
    assert holders
    got = bm25.retrieve(word, len(holders))[0]
    assert {d.id for d in got} == holders and all(d.score > 0 for d in got)


def test_bm25_filter_is_a_mask_inside_scoring(sst5_corpus):
    bm25 = BM25Retriever(sst5_corpus)
    flt = Filter(labels=[0])
    n_allowed = sst5_corpus.allowed_keys(flt).size
    # even a query matching nothing among the allowed items returns k allowed items
    res = bm25.retrieve(["beauty and the beast"], n_allowed, filter=flt)[0]
    assert len(res) == n_allowed and all(d.label == 0 for d in res)
    assert len(bm25.retrieve(["beauty"], n_allowed + 5, filter=flt)[0]) == n_allowed


def test_bm25_skills_filter(gsm8k_corpus):
    bm25 = BM25Retriever(gsm8k_corpus)
    flt = Filter(skills=["division"])
    res = bm25.retrieve(["How many apples does she have left?"], 5, filter=flt)[0]
    assert len(res) == 5 and all("division" in d.example.skills for d in res)


def test_bm25_save_load_and_rebuild(sst5_corpus, tmp_path):
    bm25 = BM25Retriever(sst5_corpus, k1=1.2)
    queries = ["a funny film", "boring and slow", "the acting is superb"]
    before = bm25.search(queries, 6)
    bm25.save(tmp_path / "bm25")
    back = BM25Retriever.load(tmp_path / "bm25")
    assert back.k1 == 1.2
    after = back.search(queries, 6)
    np.testing.assert_array_equal(before.ids, after.ids)
    np.testing.assert_allclose(before.scores, after.scores, rtol=1e-6)
    back.corpus.add([Example(id="x", text="zyzzyva zyzzyva")])
    assert back.retrieve("zyzzyva", 1)[0][0].id == "x"


# ---------------------------------------------------------------------------- mmr
def test_mmr_is_more_diverse_than_dense(dense, sst5_test_rows, sst5_vectors):
    queries = [r["text"] for r in sst5_test_rows]
    k = 8
    plain = dense.search(queries, k)
    mmr = MMRRetriever(dense, lambda_=0.5).search(queries, k)
    assert (mmr.counts() == k).all()
    div_plain = np.mean([mean_pairwise_similarity(sst5_vectors[row]) for row in plain.ids])
    div_mmr = np.mean([mean_pairwise_similarity(sst5_vectors[row]) for row in mmr.ids])
    assert div_mmr < div_plain - 0.02
    # the first pick is always the most relevant candidate
    np.testing.assert_array_equal(mmr.ids[:, 0], plain.ids[:, 0])


def test_mmr_lambda_one_equals_dense(dense, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows]
    flt = Filter(labels=[1, 3])
    plain = dense.search(queries, 6, filter=flt)
    mmr = MMRRetriever(dense, lambda_=1.0).search(queries, 6, filter=flt)
    np.testing.assert_array_equal(mmr.ids, plain.ids)
    np.testing.assert_allclose(mmr.scores, plain.scores)


# ---------------------------------------------------------------------------- balanced
def test_label_balanced_quotas(dense, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows]
    balanced = LabelBalancedRetriever(dense)
    results = balanced.retrieve(queries, 10)
    for demos in results:
        labels = [d.label for d in demos]
        assert len(demos) == 10 and all(labels.count(c) == 2 for c in range(5))
        assert set(labels[:5]) == set(range(5))  # round-robin: one of each label first
        assert all(a.score >= b.score for a, b in zip(demos[:5], demos[1:5]))
    # within a label, items come in similarity order = the dense order for that label
    demos = results[0]
    label0 = [d.id for d in demos if d.label == 0]
    assert label0 == [d.id for d in dense.retrieve(queries[0], 2, filter=Filter(labels=[0]))[0]]
    # k not divisible by the number of labels: counts differ by at most one
    for demos in balanced.retrieve(queries, 7):
        counts = [sum(d.label == c for d in demos) for c in range(5)]
        assert sorted(counts) == [1, 1, 1, 2, 2]


def test_label_balanced_cap_and_filter(dense, sst5_test_rows):
    queries = [r["text"] for r in sst5_test_rows[:5]]
    capped = LabelBalancedRetriever(dense, per_label=1).retrieve(queries, 10)
    assert all(len(x) == 5 for x in capped)
    two = LabelBalancedRetriever(dense).retrieve(queries, 6, filter=Filter(labels=[0, 4]))
    for demos in two:
        assert sorted(d.label for d in demos) == [0, 0, 0, 4, 4, 4]


# ---------------------------------------------------------------------------- random
def test_random_is_seeded_and_respects_filters(sst5_corpus):
    a = RandomRetriever(sst5_corpus, seed=7).search(["q1", "q2", "q3"], 5)
    b = RandomRetriever(sst5_corpus, seed=7).search(["q1", "q2", "q3"], 5)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert all(len(set(row)) == 5 for row in a.ids.tolist())
    got = RandomRetriever(sst5_corpus, seed=1).retrieve(["q"], 50, filter=Filter(labels=[2]))
    assert len(got[0]) == 50 and all(d.label == 2 for d in got[0])


# ---------------------------------------------------------------------------- factory
def test_get_retriever(dense, sst5_corpus, encoder):
    assert isinstance(get_retriever("bm25", sst5_corpus), BM25Retriever)
    mmr = get_retriever("mmr", dense=dense, lambda_=0.3)
    assert isinstance(mmr, MMRRetriever) and mmr.lambda_ == 0.3
    lb = get_retriever("label_balanced", sst5_corpus, encoder=encoder, per_label=2)
    assert isinstance(lb, LabelBalancedRetriever) and lb.dense.encoder is encoder
    with pytest.raises(InvalidInputError, match="unknown retriever"):
        get_retriever("colbert", sst5_corpus)
    with pytest.raises(InvalidInputError, match="does not take"):
        get_retriever("bm25", sst5_corpus, lambda_=1)


def test_encoder_thread_setting_is_scoped(encoder, sst5_rows, sst5_vectors):
    import torch

    before = torch.get_num_threads()
    single = SentenceEncoder(encoder.model, name=encoder.name, n_threads=1)
    got = single.encode([r["text"] for r in sst5_rows[:3]])
    assert torch.get_num_threads() == before
    np.testing.assert_allclose(got, sst5_vectors[:3], atol=1e-5)
    assert single.dim == 384 and single.name == "all-MiniLM-L6-v2"
    prefixed = SentenceEncoder(encoder.model, name=encoder.name, instruction="Sentiment: ")
    assert prefixed.name != encoder.name  # the instruction changes the vector space
