"""`label_breakdown`: per-label recall, answer shares, selected shares and how often an LM
followed its demonstrations' vote, computed by hand on small runs."""

from __future__ import annotations

import pytest

from fewshot.evaluation import label_breakdown
from fewshot.exceptions import InvalidInputError

INFO = {"t": {"task": "classification", "labels": ["a", "b"], "test_gold": ["a", "a", "b", "b"]}}


def _run(scorer, method, seed, predictions, label_counts, correct=""):
    return dict(
        dataset="t",
        scorer=scorer,
        retriever="dense",
        budget=4,
        method=method,
        seed=seed,
        predictions=predictions,
        label_counts=label_counts,
        correct=correct,
    )


def test_recall_answer_shares_selected_shares_and_vote_following():
    runs = [
        # seed 0: the demonstrations vote a, a, b, a; the LM answers a, b, b, a
        _run("proxy", "votek", 0, ["a", "a", "b", "a"], {"a": 3, "b": 1}),
        _run("lm", "votek", 0, ["a", "b", "b", "a"], {"a": 3, "b": 1}),
        # seed 1: the votes are all a; the LM answers all a
        _run("proxy", "votek", 1, ["a", "a", "a", "a"], {"a": 4}),
        _run("lm", "votek", 1, ["a", "a", "a", "a"], {"a": 4}),
    ]
    rows = {r.scorer: r for r in label_breakdown(runs, INFO)}
    lm = rows["lm"]
    assert (lm.n_seeds, lm.accuracy) == (2, pytest.approx(4 / 8))
    # gold a items: seed 0 a, b; seed 1 a, a -> 3/4; gold b items: seed 0 b, a; seed 1 a, a -> 1/4
    assert lm.recall == {"a": pytest.approx(0.75), "b": pytest.approx(0.25)}
    assert lm.predicted == {"a": pytest.approx(6 / 8), "b": pytest.approx(2 / 8)}
    assert lm.selected == {"a": pytest.approx((0.75 + 1.0) / 2), "b": pytest.approx(0.125)}
    # followed the vote on 3/4 items (seed 0) and 4/4 (seed 1); the vote was right on 3/4 and 2/4
    assert lm.follows_vote == pytest.approx((0.75 + 1.0) / 2)
    assert lm.vote_right == pytest.approx((0.75 + 0.5) / 2)
    proxy = rows["proxy"]
    assert proxy.follows_vote is None and proxy.vote_right is None
    assert proxy.accuracy == pytest.approx(5 / 8)


def test_rows_are_per_method_and_generation_tasks_are_skipped():
    runs = [
        _run("lm", "random", 0, ["b", "b", "b", "b"], {"a": 2, "b": 2}),
        _run("lm", "votek", 0, ["a", "a", "b", "b"], {"a": 2, "b": 2}),
        dict(_run("lm", "random", 0, ["12"], {"12": 1}), dataset="g"),
    ]
    info = dict(INFO, g={"task": "generation", "labels": [], "test_gold": ["12"]})
    rows = label_breakdown(runs, info)
    assert [(r.dataset, r.method) for r in rows] == [("t", "random"), ("t", "votek")]
    assert rows[0].recall == {"a": 0.0, "b": 1.0} and rows[0].follows_vote is None
    assert rows[1].accuracy == 1.0


def test_rows_are_ordered_by_budget_as_a_number():
    runs = [dict(_run("lm", "random", 0, ["a", "a", "b", "b"], {"a": 2}), budget=b) for b in (100, 18, 50)]
    assert [r.budget for r in label_breakdown(runs, INFO)] == [18, 50, 100]


def test_runs_without_predictions_are_refused_naming_the_run():
    runs = [_run("lm", "votek", 3, [], {"a": 4})]
    with pytest.raises(InvalidInputError, match=r"t lm votek B=4 seed 3: 0 predictions for 4 gold labels"):
        label_breakdown(runs, INFO)
