"""Kernel herding (`herding`): picks in proportion to the pool's density, counts labeled rows as
taken, and checks its settings."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import KernelHerding, select
from fewshot.exceptions import InvalidInputError

SIZES = (300, 150, 50)  # 60% / 30% / 10% of the pool


def _clusters(seed: int = 0, dim: int = 24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([np.eye(dim)[c] + rng.normal(0, 0.3, size=(n, dim)) for c, n in enumerate(SIZES)])


def _per_cluster(indices: np.ndarray) -> list[int]:
    return np.bincount(np.digitize(indices, np.cumsum(SIZES)[:-1]), minlength=len(SIZES)).tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_picks_follow_the_clusters_mass(seed):
    counts = _per_cluster(select(_clusters(seed), 30, "herding", seed=seed).indices)
    # 60/30/10% of 30 is 18/9/3; a coverage method gives the small cluster more than its share
    assert abs(counts[0] - 18) <= 2 and abs(counts[1] - 9) <= 2 and 2 <= counts[2] <= 4, counts


def test_closer_to_the_pools_mass_than_vote_k():
    X = _clusters(0)
    share = np.asarray(SIZES) / sum(SIZES)

    def error(method: str) -> float:
        return float(np.abs(np.asarray(_per_cluster(select(X, 30, method).indices)) / 30 - share).sum())

    assert error("herding") < error("votek")


def test_labeled_rows_count_as_taken():
    X = _clusters(0)
    labeled = np.arange(12)  # 12 rows of the big cluster already labeled
    sel = select(X, 18, "herding", labeled=labeled)
    assert not set(sel.indices.tolist()) & set(labeled.tolist())
    # with the labeled rows, the 30 chosen rows in all hold about 18 of the big cluster
    counts = _per_cluster(np.concatenate([labeled, sel.indices]))
    assert abs(counts[0] - 18) <= 2, counts


def test_scores_and_params():
    sel = select(_clusters(0), 10, "herding")
    assert sel.method == "herding" and sel.scores.shape == (10,) and np.isfinite(sel.scores).all()
    assert 0.0 < sel.params["bandwidth_used"] <= 2.0 and sel.params["bandwidth"] is None
    fixed = select(_clusters(0), 10, "herding", bandwidth=0.3)
    assert fixed.params["bandwidth_used"] == 0.3


def test_density_sample_is_seeded():
    X = _clusters(0)
    a = select(X, 15, "herding", n_density=100, seed=4)
    b = select(X, 15, "herding", n_density=100, seed=4)
    assert a.indices.tolist() == b.indices.tolist()
    assert abs(_per_cluster(a.indices)[0] - 9) <= 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"bandwidth": 0.0}, "bandwidth"), ({"bandwidth": 3.0}, "bandwidth"), ({"n_density": 1}, "n_density")],
)
def test_bad_settings_are_named(kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        KernelHerding(**kwargs).select(_clusters(0), 5)
