"""Paired comparison against random (delta, bootstrap interval, verdict) and cluster coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fewshot.evaluation import RunResult, summarize
from fewshot.evaluation._coverage import cluster_coverage, kmeans_cells
from fewshot.evaluation._paired import (
    decode_correct,
    encode_correct,
    paired_delta,
    tally_methods,
    verdict_of,
)
from fewshot.exceptions import InvalidInputError


def test_paired_delta_is_the_hand_computed_mean_difference():
    method = [[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]]
    random = [[1, 0, 0, 0, 0], [0, 1, 0, 1, 1]]
    # differences: seed 0: 0,1,0,1,0 (sum 2); seed 1: 0,0,1,0,0 (sum 1) -> 3 / 10
    p = paired_delta(method, random, resamples=500)
    assert math.isclose(p.delta, 0.3)
    assert math.isclose(p.method_mean, 0.7) and math.isclose(p.baseline_mean, 0.4)
    assert math.isclose(p.relative_gain, 0.3 / 0.4)
    assert (p.n_seeds, p.n_items, p.resamples, p.level) == (2, 5, 500, 0.95)


def test_interval_contains_the_estimate_and_shrinks_with_more_items():
    rng = np.random.default_rng(3)

    def draw(n):
        base = (rng.random((3, n)) < 0.5).astype(int)
        flip = rng.random((3, n)) < 0.15  # the method fixes ~15% of items, so it wins on average
        return np.where(flip, 1, base), base

    small = paired_delta(*draw(60))
    large = paired_delta(*draw(2000))
    for p in (small, large):
        assert p.ci_low <= p.delta <= p.ci_high
    assert (large.ci_high - large.ci_low) < 0.5 * (small.ci_high - small.ci_low)
    assert large.verdict == "win"


def test_identical_methods_give_zero_and_a_tie():
    a = (np.random.default_rng(0).random((5, 300)) < 0.6).astype(int)
    p = paired_delta(a, a.copy())
    assert p.delta == 0.0 and p.ci_low == 0.0 and p.ci_high == 0.0
    assert p.verdict == "tie" and p.relative_gain == 0.0


def test_bootstrap_is_reproducible_and_verdicts_follow_the_interval():
    m, b = [[1, 0, 1, 1, 0, 1]], [[0, 0, 1, 0, 0, 1]]
    assert paired_delta(m, b) == paired_delta(m, b)
    assert verdict_of(0.001, 0.2) == "win" and verdict_of(-0.2, -0.001) == "loss"
    assert verdict_of(0.0, 0.2) == "tie"
    worse = paired_delta(np.zeros((2, 400), dtype=int), np.ones((2, 400), dtype=int))
    assert worse.delta == -1.0 and worse.verdict == "loss"


@pytest.mark.parametrize(
    "method, baseline, needle",
    [
        ([[1, 0]], [[1, 0, 1]], "same seeds"),
        ([1, 0], [1, 0], "2-D"),
        ([[1, 2]], [[1, 0]], "only 0 and 1"),
    ],
)
def test_bad_inputs_are_named(method, baseline, needle):
    with pytest.raises(InvalidInputError, match=needle):
        paired_delta(method, baseline)


def test_correct_bits_round_trip_and_reject_other_text():
    bits = encode_correct([True, False, True, True])
    assert bits == "1011" and decode_correct(bits).tolist() == [1, 0, 1, 1]
    with pytest.raises(InvalidInputError, match="0 and 1"):
        decode_correct("10x1")


def _run(method: str, seed: int, bits: str, budget: int = 5) -> RunResult:
    return RunResult(
        dataset="d",
        scorer="proxy",
        retriever="dense",
        method=method,
        budget=budget,
        seed=seed,
        accuracy=bits.count("1") / len(bits),
        n_test=len(bits),
        pool_size=100,
        n_labels_chosen=2,
        n_labels_total=3,
        majority_label="a",
        majority_share=0.5,
        label_counts={"a": 1, "b": 1},
        selection_seconds=0.1,
        mean_demos=4.0,
        cluster_coverage=0.25 + 0.1 * seed,
        n_cells=10,
        correct=bits,
    )


def test_summary_rows_carry_the_paired_comparison_and_the_tally():
    runs = [
        _run("random", 0, "1000"),
        _run("random", 1, "0110"),
        _run("votek", 0, "1100"),
        _run("votek", 1, "0111"),
        _run("votek", 2, "1111"),  # no random run at seed 2: not paired
        _run("same", 0, "1000"),
        _run("same", 1, "0110"),
    ]
    rows = {r.method: r for r in summarize(runs)}
    assert rows["random"].verdict == "baseline" and rows["random"].delta_vs_random is None
    v = rows["votek"]
    assert math.isclose(v.delta_vs_random, 2 / 8) and v.n_paired_seeds == 2
    assert math.isclose(v.gain_paired, (2 / 8) / (3 / 8))
    assert v.delta_ci_low <= v.delta_vs_random <= v.delta_ci_high
    assert math.isclose(v.cluster_coverage_mean, 0.35)  # mean over seeds 0, 1, 2
    assert rows["same"].verdict == "tie" and rows["same"].delta_vs_random == 0.0
    tally = {t.method: t for t in tally_methods(list(rows.values()))}
    assert set(tally) == {"votek", "same"}  # the baseline row is not a comparison
    assert tally["same"].ties == 1 and tally["same"].cells == 1


def test_runs_without_per_item_results_have_no_paired_fields():
    runs = [_run("random", 0, "10"), _run("votek", 0, "11")]
    runs = [RunResult(**{**r.to_dict(), "correct": ""}) for r in runs]
    row = [r for r in summarize(runs) if r.method == "votek"][0]
    assert row.verdict is None and row.delta_vs_random is None and row.gain_vs_random is not None


def test_cluster_coverage_on_a_synthetic_pool():
    """Four tight, well separated blobs of 50 points: k-means with 4 cells finds the blobs, a
    selection from one blob covers 1/4 of them, one point per blob covers all."""
    rng = np.random.default_rng(0)
    centres = np.eye(4, 8, dtype=np.float32) * 10
    X = np.concatenate([c + 0.05 * rng.standard_normal((50, 8)).astype(np.float32) for c in centres])
    cells = kmeans_cells(X, 4, center=False)
    blob = np.repeat(np.arange(4), 50)
    # each cell is exactly one blob (up to the numbering)
    assert all(len(set(cells[blob == b])) == 1 for b in range(4)) and len(set(cells.tolist())) == 4
    assert cluster_coverage(cells, np.array([0, 1, 2, 3]), 4) == 0.25
    assert cluster_coverage(cells, np.array([0, 50, 100, 150]), 4) == 1.0
    assert cluster_coverage(cells, np.array([0, 50]), 8) == 0.25
    with pytest.raises(InvalidInputError, match="n_cells"):
        cluster_coverage(cells, np.array([0]), 0)
