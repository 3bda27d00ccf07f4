"""``auto``: a registered method chosen by a stated rule from the pool's structure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fewshot.annotate import STRATEGIES, AutoRule, choose_method, select
from fewshot.annotate._auto import decide
from fewshot.exceptions import InvalidInputError


@pytest.fixture(scope="module")
def clustered():
    """Five clusters of unequal sizes in 64-d (in few dimensions a Gaussian twin is itself
    strongly anisotropic and the excess says little; sentence embeddings have hundreds)."""
    rng = np.random.default_rng(11)
    truth = np.repeat(np.arange(5), [80, 60, 40, 30, 20])
    return rng.normal(size=(5, 64))[truth] + rng.normal(size=(truth.shape[0], 64))


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(12).normal(size=(230, 16))


def test_auto_runs_the_chosen_method_and_says_why(clustered):
    labeled = [0, 100]
    sel = select(clustered, 16, "auto", labeled=labeled, seed=3)
    name, reasons = choose_method(clustered, 16, labeled, seed=3)
    assert sel.method == "auto" and sel.params["chosen"] == name and name in STRATEGIES.names()
    direct = select(clustered, 16, name, labeled=labeled, seed=3)
    assert sel.indices.tolist() == direct.indices.tolist()
    np.testing.assert_array_equal(sel.scores, direct.scores)
    assert sel.params["reasons"] == reasons
    assert sel.params["chosen_params"]["seed"] == 3
    for key in (
        "silhouette",
        "silhouette_null",
        "cluster_excess",
        "hubness",
        "largest_cell",
        "share",
        "cells",
        "why",
        "rule",
    ):
        assert key in reasons, key
    json.dumps(sel.to_dict())


def test_clustered_pool_is_stratified_when_the_rule_asks(clustered):
    assert choose_method(clustered, 16)[0] == "herding"  # the default rule: herding below half the pool
    name, reasons = choose_method(clustered, 16, rule=AutoRule(clustered_method="stratified"))
    assert name == "stratified", reasons
    assert reasons["cells"] == 4 and reasons["cluster_excess"] > 0.1  # far above its Gaussian twin


def test_structureless_pool_takes_the_default(noise):
    name, reasons = choose_method(noise, 16, rule=AutoRule(clustered_method="stratified"))
    assert name == "herding", reasons
    assert abs(reasons["cluster_excess"]) < 0.05 and "cluster excess" in reasons["why"]


def test_large_budget_takes_facility(clustered):
    name, reasons = choose_method(clustered, 120, labeled=range(10))
    assert name == "facility" and reasons["share"] == pytest.approx(130 / 230)
    assert "large_share" in reasons["why"]


def test_the_rule_is_data(noise):
    _, reasons = choose_method(noise, 16)
    strict = AutoRule(excess_min=0.99, clustered_method="stratified")
    assert decide(reasons, strict)[0] == strict.default_method
    hub = AutoRule(excess_min=0.99, hubness_max=1e9, hubness_method="ideal-hub")
    assert decide(reasons, hub)[0] == "ideal-hub"
    sel = select(noise, 6, "auto", rule={"excess_min": 0.99, "default_method": "facility"}, seed=1)
    assert sel.params["chosen"] == "facility" and sel.params["reasons"]["rule"]["excess_min"] == 0.99


def test_bad_rules(noise):
    with pytest.raises(InvalidInputError, match="unknown field"):
        select(noise, 3, "auto", rule={"exces_min": 0.1})
    with pytest.raises(InvalidInputError, match="itself"):
        select(noise, 3, "auto", rule={"default_method": "auto", "excess_min": 0.99})
    with pytest.raises(InvalidInputError, match="confidence"):
        select(noise, 3, "auto", rule={"default_method": "votek2"})
    with pytest.raises(InvalidInputError, match="rule"):
        select(noise, 3, "auto", rule="facility")


def test_sampled_statistics(noise):
    name, reasons = choose_method(noise, 10, max_sample=100, seed=2)
    assert reasons["sample"] == 100 and reasons["n"] == 230
    assert (name, reasons) == choose_method(noise, 10, max_sample=100, seed=2)
