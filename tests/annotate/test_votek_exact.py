"""The fast vote-k must return exactly the research loop's ordered selection."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import VoteK, prepare_vectors, select


def _prefix_without_repeats(ref_list: list[int]) -> list[int]:
    """The research loop re-picks a selected item once nothing is left; cut there."""
    seen: set[int] = set()
    out = []
    for i in ref_list:
        if i in seen:
            break
        seen.add(i)
        out.append(i)
    return out


def check_same(ref, X: np.ndarray, budget: int, k: int, center: bool = True) -> None:
    Z = prepare_vectors(X, center=center)
    expected = ref.research_fast_votek(Z, budget, k)
    got = select(X, budget, "votek", k=k, center=center)
    prefix = _prefix_without_repeats(expected)
    assert got.indices[: len(prefix)].tolist() == prefix
    assert len(got.indices) == budget
    assert len(set(got.indices.tolist())) == budget


@pytest.mark.parametrize(("n", "k", "budget"), [(1200, 150, 18), (1000, 50, 100)])
def test_sst5_matches_research(ref, sst5_vectors, n, k, budget):
    check_same(ref, sst5_vectors[:n], budget, k)


def test_rte_matches_research(ref, rte_vectors):
    check_same(ref, rte_vectors, 18, 150)


def test_rte_matches_research_uncentred(ref, rte_vectors):
    check_same(ref, rte_vectors, 30, 40, center=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_gaussian_matches_research(ref, seed):
    X = np.random.default_rng(seed).normal(size=(500, 32))
    check_same(ref, X, 100, 20)


def test_clustered_matches_research(ref, make_clustered):
    check_same(ref, make_clustered(800, 24, 12, 0.4, 3), 18, 30)


@pytest.mark.parametrize(("n", "k", "budget"), [(300, 3, 100), (200, 2, 150), (120, 5, 120)])
def test_many_equal_scores_match_research(ref, n, k, budget):
    # small k: scores are sums of few powers of 10, so equal scores are everywhere and the
    # visiting order and the exact floating-point sums decide
    X = np.random.default_rng(n + k).normal(size=(n, 8))
    check_same(ref, X, budget, k)


def test_duplicates_and_near_ties_match_research(ref):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 16)).astype(np.float32)
    X[100:120] = X[0:20]  # exact duplicates
    X[120:140] = X[20:40] * np.float32(3.0)  # same direction: identical unit rows
    X[140:160] = X[40:60] + np.float32(1e-6) * rng.normal(size=(20, 16)).astype(np.float32)
    check_same(ref, X, 60, 15)
    check_same(ref, X, 60, 15, center=False)


def test_grid_with_exact_similarity_ties(ref):
    # integer lattice points: many exactly equal cosines between distinct items
    g = np.stack(np.meshgrid(np.arange(-3, 4), np.arange(-3, 4), np.arange(1, 4)), -1)
    X = g.reshape(-1, 3).astype(np.float64)
    check_same(ref, X, 40, 6, center=False)


def test_budget_equal_n_fills_after_candidates_run_out(ref):
    X = np.random.default_rng(2).normal(size=(60, 6))
    sel = select(X, 60, "votek", k=4)
    assert sorted(sel.indices.tolist()) == list(range(60))
    expected = _prefix_without_repeats(ref.research_fast_votek(prepare_vectors(X), 60, 4))
    assert sel.indices[: len(expected)].tolist() == expected
    assert np.all(sel.scores[len(expected) :] == 0.0)


def test_second_round_continues_first(make_clustered):
    X = make_clustered(400, 16, 8, 0.5, 11)
    full = select(X, 30, "votek", k=25)
    first = select(X, 12, "votek", k=25)
    second = select(X, 18, "votek", k=25, labeled=first.indices)
    assert first.indices.tolist() == full.indices[:12].tolist()
    assert second.indices.tolist() == full.indices[12:].tolist()
    np.testing.assert_array_equal(second.scores, full.scores[12:])


def test_approximate_graph_runs():
    X = np.random.default_rng(0).normal(size=(400, 16))
    sel = VoteK(k=10, exact=False).select(X, 20)
    assert len(set(sel.indices.tolist())) == 20
    assert sel.params["exact_graph"] is False


def test_exact_after_resynchronising_running_scores(ref, monkeypatch):
    import fewshot.annotate._votek as votek_module

    monkeypatch.setattr(votek_module, "_RESYNC_TOL", 0.0)  # re-sum before every pick
    X = np.random.default_rng(5).normal(size=(300, 8))
    check_same(ref, X, 100, 4)


def test_a_budget_near_the_pool_size_after_a_labeled_round_does_not_overrun_the_weight_table():
    """Regression: voters already in L kept counting picks, so their t passed the weight table that
    grows for live voters only (IndexError in exact_scores; seen from the console's budget page)."""
    from fewshot.annotate import select

    X = np.random.default_rng(0).standard_normal((1200, 384)).astype(np.float32)
    labeled = np.arange(40)
    sel = select(X, 1000, "votek", labeled=labeled)
    assert len(set(sel.indices.tolist())) == 1000 and not set(sel.indices.tolist()) & set(labeled.tolist())
