"""Approximate-graph settings on the graph methods (votek, facility, ideal): ``approx``, ``nlist``
and ``nprobe`` reach the graph build, are recorded in the params, and are checked."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import FacilityLocation, Ideal, VoteK, get_strategy
from fewshot.exceptions import InvalidInputError


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(12, 24))
    return (centers[rng.integers(0, 12, 1500)] + 0.4 * rng.normal(size=(1500, 24))).astype(np.float32)


def test_ivf_scanning_every_list_picks_what_the_exact_graph_picks(X):
    exact = VoteK(k=15).select(X, 20)
    # nprobe >= nlist: every list is scanned, the IVF graph holds the exact neighbours
    full = VoteK(k=15, approx="ivf", nlist=8, nprobe=8).select(X, 20)
    assert exact.params["exact_graph"] is True and full.params["exact_graph"] is False
    assert full.params["approx"] == "ivf" and full.params["nprobe"] == 8 and full.params["exact"] is False
    assert full.indices.tolist() == exact.indices.tolist()
    np.testing.assert_allclose(full.scores, exact.scores, rtol=1e-5)


def test_nprobe_changes_the_graph_search(X):
    one = FacilityLocation(k=10, nlist=32, nprobe=1).select(X, 15)
    full = FacilityLocation(k=10, nlist=32, nprobe=32).select(X, 15)
    exact = FacilityLocation(k=10).select(X, 15)
    assert one.params["nprobe"] == 1 and one.params["exact"] is False
    assert full.indices.tolist() == exact.indices.tolist()
    assert one.indices.tolist() != exact.indices.tolist()  # one list of 32 misses neighbours


def test_ideal_and_hnsw_record_their_graph(X):
    sel = Ideal(approx="hnsw", n_rr_sets=2000, n_mc=0).select(X, 5, seed=1)
    assert sel.params["approx"] == "hnsw" and sel.params["exact_graph"] is False
    assert "nprobe" not in sel.params  # only what was set is recorded
    plain = Ideal(n_rr_sets=2000, n_mc=0).select(X, 5, seed=1).params
    assert not {"approx", "nlist", "nprobe"} & set(plain)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"approx": "annoy"}, "approx must be one of ivf, hnsw; got 'annoy'"),
        ({"nprobe": 0}, "nprobe must be a positive integer; got 0"),
        ({"nlist": True}, "nlist must be a positive integer; got True"),
        ({"approx": "ivf", "exact": True}, "cannot be used with exact=True"),
        ({"approx": "hnsw", "nprobe": 4}, "nprobe are IVF settings; approx is 'hnsw'"),
    ],
)
def test_bad_settings_name_the_field(X, params, message):
    for name in ("votek", "facility", "ideal"):
        with pytest.raises(InvalidInputError, match=message):
            get_strategy(name, **params).select(X[:200], 3)


def test_methods_without_a_graph_refuse_approx():
    with pytest.raises(InvalidInputError, match="method 'random'.*approx"):
        get_strategy("random", approx="ivf")
