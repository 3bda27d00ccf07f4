"""The proxy vote, answer matching, and the summary arithmetic against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from fewshot.evaluation import (
    RunResult,
    answers_match,
    extract_answer,
    knn_vote_proxy,
    normalize_answer,
    relative_gain,
    summarize,
)


def test_knn_vote_proxy_hand_cases():
    labels = [["a", "b", "b"], ["a", "b", None], [None, None, None], ["b", "a"]]
    sims = [[0.9, 0.5, 0.3], [0.4, 0.4, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5]]
    # row 0: a=0.9 > b=0.8; row 1: tie -> label order puts "a" first; row 2: nothing retrieved;
    # row 3: tie -> "a" first in the label set although "b" was retrieved first
    assert knn_vote_proxy(labels[:3], sims[:3], labels=["a", "b"]) == ["a", "a", None]
    assert knn_vote_proxy([labels[3]], [sims[3]], labels=["a", "b"]) == ["a"]
    # without a label set, ties go to the label retrieved first
    assert knn_vote_proxy([labels[3]], [sims[3]]) == ["b"]


def test_knn_vote_proxy_only_votes_among_present_labels():
    # negative similarities: an absent label (sum 0) must not win
    assert knn_vote_proxy([["x", "x"]], [[-0.2, -0.1]], labels=["y", "x"]) == ["x"]


@pytest.mark.parametrize(
    "text, answer",
    [
        ("She sells 9 eggs.\n#### 18", "18"),
        ("#### 1,250", "1250"),
        ("#### $7.50", "7.5"),
        ("So 3 + 4 = 7. The answer is 7.", "7"),
        ("It costs $2,000.00 in total", "2000"),
        ("-3 degrees", "-3"),
        ("nothing here", None),
    ],
)
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


def test_answers_match():
    assert answers_match("18.0", "18") and answers_match("1,000", "1000")
    assert not answers_match(None, "3") and not answers_match("17", "18")
    assert normalize_answer(" 42. ") == "42"


def _run(method, budget, seed, acc, **kw):
    base = dict(
        dataset="d",
        scorer="proxy",
        retriever="dense",
        method=method,
        budget=budget,
        seed=seed,
        accuracy=acc,
        n_test=10,
        pool_size=100,
        n_labels_chosen=2,
        n_labels_total=3,
        majority_label="a",
        majority_share=0.5,
        label_counts={"a": 1, "b": 1},
        selection_seconds=0.1,
        mean_demos=4.0,
    )
    base.update(kw)
    return RunResult(**base)


def test_summarize_mean_std_and_gain_against_hand_numbers():
    runs = [
        _run("random", 5, 0, 0.40),
        _run("random", 5, 1, 0.50),
        _run("votek", 5, 0, 0.45),
        _run("votek", 5, 1, 0.55, n_labels_chosen=3, majority_share=0.4),
        _run("random", 10, 0, 0.60),
        _run("random", 10, 1, 0.60),
        _run("votek", 10, 0, 0.54),
        _run("votek", 10, 1, 0.48),
    ]
    rows = {(r.method, r.budget): r for r in summarize(runs)}
    assert [(r.method, r.budget) for r in summarize(runs)] == [
        ("random", 5),
        ("random", 10),
        ("votek", 5),
        ("votek", 10),
    ]
    v5, v10, r5 = rows["votek", 5], rows["votek", 10], rows["random", 5]
    assert math.isclose(r5.accuracy_mean, 0.45) and math.isclose(r5.accuracy_std, 0.0707107, rel_tol=1e-5)
    assert math.isclose(v5.accuracy_mean, 0.50)
    assert math.isclose(v5.gain_vs_random, (0.50 - 0.45) / 0.45)  # +11.1%
    assert math.isclose(v10.gain_vs_random, (0.51 - 0.60) / 0.60)  # -15%
    assert r5.gain_vs_random == 0.0
    assert v5.n_labels_chosen_mean == 2.5 and math.isclose(v5.majority_share_mean, 0.45)
    assert v5.n_seeds == 2


def test_summarize_without_random_and_single_seed():
    rows = summarize([_run("votek", 5, 0, 0.3)])
    assert rows[0].gain_vs_random is None and rows[0].accuracy_std == 0.0
    assert relative_gain(0.5, 0.0) is None
