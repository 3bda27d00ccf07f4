"""`LMConfidence` on a tiny real GPT-2: the confidence is the log-likelihood of the model's own
answer, demonstrations are the most similar labeled selected rows, answers are cached by content,
and two-stage vote-k runs on it."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import select
from fewshot.exceptions import InvalidInputError
from fewshot.feedback import LMConfidence, nearest_rows, unit_rows
from fewshot.prompt import PromptTemplate

N_LABELED = 10  # the first rows carry a label (as in conftest's pool file)


@pytest.fixture
def pool(sst5_rows):
    """(texts, vectors, labels): real SST-5 sentences, seeded random vectors, the first rows labeled."""
    texts = [r["text"] for r in sst5_rows]
    X = np.random.default_rng(0).normal(size=(len(texts), 16)).astype(np.float32)
    labels = [r["label_text"] if i < N_LABELED else None for i, r in enumerate(sst5_rows)]
    return texts, X, labels


def _options(labels):
    return sorted({lab for lab in labels if lab is not None})


def test_confidence_is_the_predicted_options_mean_loglik(feedback_lm, pool):
    texts, X, labels = pool
    seen = []
    conf = LMConfidence(
        feedback_lm, texts, X, labels, options=_options(labels), k=3, progress=lambda d, t: seen.append((d, t))
    )
    selected, candidates = np.arange(N_LABELED), np.arange(N_LABELED, N_LABELED + 8)
    scores = conf(selected, candidates)
    assert scores.shape == (8,) and scores.dtype == np.float64 and (scores < 0).all()
    demos = conf.demonstrations(selected, candidates)
    assert demos.shape == (8, 3)
    for i, row in enumerate(candidates.tolist()):
        prompt = conf.prompt(row, demos[i])
        direct = feedback_lm.score_options(prompt, [" " + o for o in conf.options])
        assert scores[i] == pytest.approx(direct.best_mean_loglik, abs=1e-6)
        assert conf.predictions[row] == conf.options[direct.best]
        assert prompt.endswith(f"Input: {texts[row]}\nLabel:")
        for j in demos[i].tolist():  # each demonstration with its label
            assert f"Input: {texts[j]}\nLabel: {labels[j]}" in prompt
    assert seen[-1] == (8, 8) and conf.stats.lm_computed == 8 and conf.stats.lm_cached == 0


def test_only_labeled_selected_rows_are_demonstrations(feedback_lm, pool):
    texts, X, labels = pool
    X = X.copy()
    unlabeled, candidate = N_LABELED, N_LABELED + 1
    X[candidate] = X[unlabeled] + 1e-3  # its nearest row overall is selected but unlabeled
    conf = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=4)
    selected = np.array([*range(N_LABELED), unlabeled])
    demos = conf.demonstrations(selected, [candidate])[0].tolist()
    assert unlabeled not in demos and all(labels[j] is not None for j in demos)
    assert texts[unlabeled] not in conf.prompt(candidate, demos)
    # unselected labeled rows are not demonstrations either
    assert set(conf.demonstrations([0, 1, unlabeled], [candidate])[0].tolist()) == {0, 1}


def test_demonstrations_are_the_most_similar_selected_rows(feedback_lm, pool):
    texts, X, labels = pool
    conf = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=4)
    selected, candidates = np.arange(N_LABELED), np.arange(N_LABELED, len(texts))
    demos = conf.demonstrations(selected, candidates)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i, row in enumerate(candidates.tolist()):
        sims = U[selected] @ U[row]
        assert demos[i].tolist() == selected[np.argsort(-sims)[:4]].tolist()
    rows, sims = nearest_rows(unit_rows(X), candidates[:2], selected, 2)
    assert rows.tolist() == demos[:2, :2].tolist() and (sims[:, 0] >= sims[:, 1]).all()


def test_cache_second_run_computes_nothing(feedback_lm, pool, tmp_path):
    texts, X, labels = pool
    path = tmp_path / "cache" / "lm.sqlite"
    selected, candidates = np.arange(N_LABELED), np.arange(N_LABELED, len(texts))
    first = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=2, cache=path)
    a = first(selected, candidates)
    assert path.is_file() and (first.stats.lm_computed, first.stats.lm_cached) == (30, 0)
    second = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=2, cache=path)
    b = second(selected, candidates)
    assert (second.stats.lm_computed, second.stats.lm_cached) == (0, 30)
    assert np.array_equal(a, b) and second.predictions == first.predictions
    # another selection changes the prompts: they are new questions
    third = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=2, cache=path)
    third(selected[:5], candidates[:3])
    assert third.stats.lm_computed == 3


def test_generation_confidence_is_the_answers_mean_logprob(feedback_lm, pool, tmp_path):
    texts, X, labels = pool
    path = tmp_path / "gen.sqlite"
    conf = LMConfidence(feedback_lm, texts, X, labels, options=None, k=2, max_new_tokens=4, cache=path)
    selected, candidates = np.arange(N_LABELED), np.arange(N_LABELED, N_LABELED + 3)
    scores = conf(selected, candidates)
    demos = conf.demonstrations(selected, candidates)
    for i, row in enumerate(candidates.tolist()):
        gen = feedback_lm.generate([conf.prompt(row, demos[i])], max_new_tokens=4, stop=["\n\n"])[0]
        assert scores[i] == pytest.approx(gen.mean_logprob, abs=1e-5) and conf.predictions[row] == gen.text
    again = LMConfidence(feedback_lm, texts, X, labels, options=None, k=2, max_new_tokens=4, cache=path)
    assert np.array_equal(again(selected, candidates), scores) and again.stats.lm_computed == 0


def test_errors_without_labeled_demonstrations(feedback_lm, pool):
    texts, X, labels = pool
    with pytest.raises(InvalidInputError, match="needs labeled demonstrations.*label the first round"):
        LMConfidence(feedback_lm, texts, X, [None] * len(texts), options=["bad", "good"])
    conf = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels))
    with pytest.raises(InvalidInputError, match="needs labeled demonstrations"):
        conf([N_LABELED, N_LABELED + 1], [N_LABELED + 2])  # selected, but none labeled
    with pytest.raises(InvalidInputError, match="vectors must have shape"):
        LMConfidence(feedback_lm, texts, X[:5], labels, options=_options(labels))
    with pytest.raises(InvalidInputError, match="one label"):
        LMConfidence(feedback_lm, texts, X, labels[:3], options=_options(labels))
    with pytest.raises(InvalidInputError, match="k must be"):
        LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=0)
    with pytest.raises(InvalidInputError, match="distinct"):
        LMConfidence(feedback_lm, texts, X, labels, options=["bad", "bad"])


def test_labels_as_mapping_and_verbalized_options(feedback_lm, pool):
    texts, X, labels = pool
    tpl = PromptTemplate(
        name="sst", input="Review: {text}\nSentiment:", output=" {label}", verbalizer={"0": "no", "1": "yes"}
    )
    mapping = {i: str(i % 2) for i in range(N_LABELED)}
    conf = LMConfidence(feedback_lm, texts, X, mapping, options=["0", "1"], template=tpl, k=2)
    assert conf.continuations == [" no", " yes"]
    scores = conf(np.arange(N_LABELED), [N_LABELED])
    prompt = conf.prompt(N_LABELED, conf.demonstrations(np.arange(N_LABELED), [N_LABELED])[0])
    direct = feedback_lm.score_options(prompt, [" no", " yes"])
    assert scores[0] == pytest.approx(direct.best_mean_loglik, abs=1e-6)
    assert conf.predictions[N_LABELED] == ["0", "1"][direct.best]
    with pytest.raises(InvalidInputError, match="options are scored as the template's output"):
        LMConfidence(feedback_lm, texts, X, mapping, options=["0", "2"], template=tpl)


def test_two_stage_votek_with_lm_confidence(feedback_lm, pool):
    texts, X, labels = pool
    conf = LMConfidence(feedback_lm, texts, X, labels, options=_options(labels), k=2)
    labeled = np.arange(N_LABELED)
    a = select(X, 6, "votek2", labeled=labeled, confidence=conf, stage1_size=0, k=5)
    b = select(X, 6, "votek2", labeled=labeled, confidence=conf, stage1_size=0, k=5)
    assert a.indices.tolist() == b.indices.tolist() and len(set(a.indices.tolist())) == 6
    assert not set(a.indices.tolist()) & set(labeled.tolist())
    assert set(conf.predictions) == set(range(N_LABELED, len(texts)))
