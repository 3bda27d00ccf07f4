"""Corpus, Example, Filter, Hits and the top-k helper."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.retrieve import Corpus, Example, Filter, Hits
from fewshot.retrieve._topk import topk_rows


def test_from_records_and_lookups(sst5_rows):
    corpus = Corpus.from_records(sst5_rows)
    assert len(corpus) == len(sst5_rows)
    ex = corpus["sst5-train-0"]
    assert ex.text == sst5_rows[0]["text"] and ex.label == sst5_rows[0]["label"]
    assert ex.fields == {"label_text": sst5_rows[0]["label_text"]}
    assert ex.get("label_text") == sst5_rows[0]["label_text"]
    assert corpus.key_of(["sst5-train-3", "sst5-train-0"]).tolist() == [3, 0]
    assert set(corpus.labels()) == {0, 1, 2, 3, 4}
    with pytest.raises(NotFoundError, match="nope"):
        corpus.key_of(["nope"])


def test_text_template_for_multi_field_rows():
    rows = [{"id": 1, "premise": "A man sleeps.", "hypothesis": "A man is awake.", "label": 1}]
    corpus = Corpus.from_records(rows, text_template="{premise}\nquestion: {hypothesis}")
    assert corpus[1].text == "A man sleeps.\nquestion: A man is awake."
    assert corpus[1].fields == {"premise": "A man sleeps.", "hypothesis": "A man is awake."}
    with pytest.raises(InvalidInputError, match="premis"):
        Corpus.from_records(rows, text_template="{premis}")


def test_add_replace_remove_keep_keys_stable():
    corpus = Corpus([Example(id="a", text="x", label=0), Example(id="b", text="y", label=1)])
    v0 = corpus.version
    keys = corpus.add([Example(id="a", text="x2", label=1), Example(id="c", text="z")])
    assert keys.tolist() == [0, 2] and corpus["a"].text == "x2" and corpus.version > v0
    set_keys, removed = corpus.changed_since(v0)
    assert set_keys.tolist() == [0, 2] and removed.size == 0
    v1 = corpus.version
    corpus.remove(["b"])
    assert "b" not in corpus and corpus.keys().tolist() == [0, 2]
    assert corpus.changed_since(v1)[1].tolist() == [1]
    assert corpus.allowed_keys(Filter(labels=[1])).tolist() == [0]  # label index updated
    corpus.add([Example(id="b", text="back")])
    assert corpus.key_of(["b"]).tolist() == [3]  # keys are never reused
    with pytest.raises(InvalidInputError):
        corpus.add([Example(id="d", text="1"), Example(id="d", text="2")])


def test_example_validation():
    with pytest.raises(InvalidInputError):
        Example(id=1.5, text="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        Example(id=1, text="x", fields={"label": 3})
    with pytest.raises(InvalidInputError):
        Example(id=1, text="x", label={"a": 1})
    assert Example(id=1, text="x", skills="algebra").skills == ("algebra",)


def test_filters(sst5_corpus, gsm8k_corpus):
    c = sst5_corpus
    labels = np.array([ex.label for ex in c])
    assert c.allowed_keys(None) is None and c.allowed_keys(Filter()) is None
    got = c.allowed_keys(Filter(labels=[0, 4]))
    assert got.tolist() == np.flatnonzero(np.isin(labels, [0, 4])).tolist()
    got = c.allowed_keys(Filter(fields={"label_text": "great"}))
    assert got.tolist() == np.flatnonzero(labels == 4).tolist()
    got = c.allowed_keys(Filter(labels=[4], exclude_ids=["sst5-train-0"]))
    assert 0 not in got.tolist() and got.size == (labels == 4).sum() - 1
    got = c.allowed_keys(Filter(ids=["sst5-train-1", "sst5-train-2", "unknown"], labels=[1]))
    assert got.tolist() == [k for k in (1, 2) if labels[k] == 1]
    # skills: any overlap
    g = gsm8k_corpus
    skills = [set(ex.skills) for ex in g]
    got = g.allowed_keys(Filter(skills=["multiplication", "division"]))
    assert got.tolist() == [i for i, s in enumerate(skills) if s & {"multiplication", "division"}]
    assert got.size > 0
    with pytest.raises(InvalidInputError):
        Filter(fields={"x": [1, 2]})


def test_corpus_jsonl_round_trip(sst5_corpus, tmp_path):
    sst5_corpus.remove(["sst5-train-1"])
    sst5_corpus.write_jsonl(tmp_path / "c.jsonl")
    back = Corpus.read_jsonl(tmp_path / "c.jsonl")
    assert back.keys().tolist() == sst5_corpus.keys().tolist()
    assert list(back) == list(sst5_corpus)


def test_hits_helpers():
    hits = Hits(np.array([[4, 2, -1], [7, -1, -1]]), np.array([[0.9, 0.5, -np.inf], [0.3, -np.inf, -np.inf]]))
    assert hits.counts().tolist() == [2, 1]
    assert hits.to_lists() == [[4, 2], [7]]
    assert list(hits[0]) == [(4, pytest.approx(0.9)), (2, pytest.approx(0.5))]
    with pytest.raises(InvalidInputError):
        Hits(np.zeros((2, 3)), np.zeros((2, 2)))


def test_topk_rows_ties_and_padding():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0, 3.0]], dtype=np.float32)
    idx, vals = topk_rows(scores, 4)
    assert idx.tolist() == [[1, 2, 5, 4]] and vals.tolist() == [[3, 3, 3, 2]]
    idx, vals = topk_rows(scores, 8)
    assert idx.tolist() == [[1, 2, 5, 4, 0, -1, -1, -1]]
