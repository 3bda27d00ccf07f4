"""vote-k on graphs worked out by hand, the score arithmetic, and two-stage vote-k."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import KnnGraph, TwoStageVoteK, prepare_vectors, select
from fewshot.annotate._votek import _VoteGreedy
from fewshot.exceptions import InvalidInputError


def toy_graph() -> KnnGraph:
    # N(v), most similar first:  0:[1,2]  1:[0,2]  2:[1,3]  3:[2,4]  4:[3,2]
    nbrs = np.array([[1, 2], [0, 2], [1, 3], [2, 4], [3, 2]], dtype=np.int32)
    sims = np.array([[0.9, 0.5]] * 5, dtype=np.float32)
    return KnnGraph(nbrs, sims, "ip", exact=False, sim_error=None)


def test_toy_graph_by_hand():
    # voters: 0:{1} 1:{0,2} 2:{0,1,3,4} 3:{2,4} 4:{3}
    # first votes (v ascending, least similar first): 2, 1, 0, 3, 4
    # visiting order (count desc, stable): 2(4) 1(2) 3(2) 0(1) 4(1)
    g = _VoteGreedy(toy_graph(), 10)
    assert np.argsort(g.visit_rank).tolist() == [2, 1, 3, 0, 4]
    picks, scores = g.run(5)
    # pick 2 (4 votes); then 1, 3, 0 and 4 all score 0.1 (their voters have t=1) -> 1 first;
    # then 0's only voter (1) is selected, so 0 drops out; 3 beats 4 on visiting order;
    # then nobody is left with an unselected voter: 0 and 4 are appended with score 0.
    assert picks == [2, 1, 3, 0, 4]
    assert scores == [4.0, 0.1, 0.1, 0.0, 0.0]


def test_toy_graph_with_labeled_start():
    g = _VoteGreedy(toy_graph(), 10)
    g.add(2)
    picks, scores = g.run(4)
    assert picks == [1, 3, 0, 4]
    assert scores[:2] == [0.1, 0.1]


def test_discount_rho():
    g = _VoteGreedy(toy_graph(), 2)
    picks, scores = g.run(2)
    assert picks == [2, 1] and scores == [4.0, 0.5]


def test_exact_scores_are_the_research_float_sums():
    rng = np.random.default_rng(0)
    n, k = 80, 6
    nbrs = np.stack([rng.choice(np.delete(np.arange(n), v), k, replace=False) for v in range(n)])
    g = _VoteGreedy(KnnGraph(nbrs.astype(np.int32), np.ones((n, k), np.float32)), 10)
    g.t[:] = rng.integers(0, 4, n)
    g.in_L[rng.choice(n, 10, replace=False)] = True
    voters = {u: [] for u in range(n)}
    for v in range(n):
        for u in nbrs[v]:
            voters[int(u)].append(v)
    expected = []
    for u in range(n):
        s = 0
        for v in voters[u]:  # ascending voter order, as the research loop sums
            if not g.in_L[v]:
                s += 10 ** (-int(g.t[v]))
        expected.append(float(s))
    got = g.exact_scores(np.arange(n))
    assert got.tolist() == expected  # bit for bit


def _confidence_by_distance_to_selection(Z):
    def confidence(selected, candidates):
        return (Z[candidates] @ Z[selected].T).max(axis=1)  # close to the selection = confident

    return confidence


@pytest.mark.parametrize(("n", "k", "budget", "stage1"), [(300, 20, 30, 10), (150, 5, 100, 4)])
def test_two_stage_matches_plain_loop_reference(ref, make_clustered, n, k, budget, stage1):
    X = make_clustered(n, 12, 6, 0.6, n)
    Z = prepare_vectors(X)
    conf = _confidence_by_distance_to_selection(Z)
    expected = ref.reference_two_stage_votek(Z, budget, conf, k=k, stage1_size=stage1)
    got = select(X, budget, "votek2", k=k, stage1_size=stage1, confidence=conf)
    assert got.indices.tolist() == expected
    first = select(X, stage1, "votek", k=k)
    assert got.indices[:stage1].tolist() == first.indices.tolist()


def test_two_stage_updates_discounts_in_stage_two(make_clustered):
    # Two items from the same neighbourhood in one bucket: after the first stage-2 pick, the
    # voters it shares with the others are discounted (the research code forgot this).
    X = make_clustered(200, 8, 4, 0.5, 5)
    Z = prepare_vectors(X)
    calls = []

    def confidence(selected, candidates):
        calls.append((selected.copy(), candidates.copy()))
        return np.zeros(len(candidates))

    sel = TwoStageVoteK(k=15, stage1_size=5, confidence=confidence).select(X, 25)
    assert len(calls) == 1
    selected, candidates = calls[0]
    assert selected.tolist() == sel.indices[:5].tolist()
    assert len(candidates) == 195 and not set(candidates) & set(selected.tolist())
    assert len(set(sel.indices.tolist())) == 25
    del Z


def test_two_stage_needs_a_confidence_function():
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(InvalidInputError, match="confidence"):
        select(X, 20, "votek2", k=5)


def test_two_stage_rejects_bad_confidence_output():
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(InvalidInputError, match="one score per candidate"):
        select(X, 20, "votek2", k=5, stage1_size=2, confidence=lambda s, c: np.zeros(3))
    with pytest.raises(InvalidInputError, match="NaN"):
        select(X, 20, "votek2", k=5, stage1_size=2, confidence=lambda s, c: np.full(len(c), np.nan))
