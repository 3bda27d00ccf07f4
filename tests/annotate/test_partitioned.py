"""Partitioned selection: one partition holding every candidate is the method's own selection;
quotas follow partition sizes; labeled rows count as selected; runs are deterministic; the input
can be a memmap; bad settings name themselves."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fewshot.annotate import build_knn_graph, prepare_vectors, select
from fewshot.annotate._partitioned import PartitionTask, partition_quotas, partitioned_select, ray_map, run_partition
from fewshot.exceptions import InvalidInputError, MissingDependencyError


@pytest.fixture(scope="module")
def pool(make_clustered) -> np.ndarray:
    return make_clustered(900, 16, 12, 0.6, 3)


@pytest.mark.parametrize(("method", "params"), [("votek", {"k": 20}), ("facility", {"k": 10})])
def test_one_partition_with_every_row_a_candidate_is_the_method_itself(pool, method, params):
    own = select(pool, 25, method, **params)
    part = partitioned_select(pool, 25, method, n_partitions=1, oversample=len(pool) / 25, **params)
    assert np.array_equal(part.indices, own.indices)
    assert np.array_equal(part.scores, own.scores)
    assert part.params["n_candidates"] == len(pool) and part.params["partition_sizes"] == [len(pool)]
    labeled = [5, 400, 17]
    own = select(pool, 25, method, labeled=labeled, **params)
    part = partitioned_select(pool, 25, method, n_partitions=1, oversample=100.0, labeled=labeled, **params)
    assert np.array_equal(part.indices, own.indices)
    merged = partitioned_select(pool, 25, method, n_partitions=1, labeled=labeled, final="merge", **params)
    assert np.array_equal(merged.indices, own.indices) and np.array_equal(merged.scores, own.scores)
    assert merged.params["final"] == "merge" and merged.params["n_candidates"] == 50
    assert merged.params["saturated_partitions"] == 0  # one partition: its 25 best of 50 candidates


def test_quotas_are_proportional_by_largest_remainder():
    assert partition_quotas([50, 30, 20], 7).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4: the .5 gets the extra one
    assert partition_quotas([1, 1, 1], 2).tolist() == [1, 1, 0]  # ties to the lower partition
    assert partition_quotas([0, 10, 5], 15).tolist() == [0, 10, 5]
    sizes = np.random.default_rng(0).integers(0, 500, 40)
    for total in (0, 1, 99, int(sizes.sum())):
        q = partition_quotas(sizes, total)
        assert q.sum() == total and (q >= 0).all() and (q <= sizes).all()
        assert np.all(np.abs(q - total * sizes / sizes.sum()) < 1)
    with pytest.raises(InvalidInputError, match="total"):
        partition_quotas([3, 4], 8)


def test_each_partition_selects_its_quota_and_labeled_rows_are_selected_from_the_start(pool):
    labeled = np.array([3, 50, 700, 899])
    seen: list[tuple[PartitionTask, np.ndarray]] = []

    def recording_map(fn, tasks):
        for task in tasks:
            picks, scores = fn(task)
            assert scores.shape == picks.shape and np.all(np.diff(scores) <= 0)  # vote-k scores only fall
            seen.append((task, picks))
            yield picks, scores

    sel = partitioned_select(
        pool, 30, "votek", n_partitions=5, oversample=3.0, labeled=labeled, map_fn=recording_map, k=15
    )
    assert len(sel) == 30 and len(set(sel.indices.tolist())) == 30
    assert not set(sel.indices.tolist()) & set(labeled.tolist())
    sizes = np.array(sel.params["partition_sizes"])
    assert sizes.sum() == len(pool) and sel.params["largest_partition"] == sizes.max()
    assert sel.params["n_candidates"] == 90
    free = sizes.copy()
    quotas: dict[int, int] = {}
    for task, picks in seen:
        assert np.all(np.diff(task.rows) > 0) and len(task.rows) == sizes[task.index]
        assert np.array_equal(task.rows[task.labeled], np.intersect1d(task.rows, labeled))
        assert len(picks) == task.quota and not set(picks.tolist()) & set(labeled.tolist())
        assert set(picks.tolist()) <= set(task.rows.tolist())
        free[task.index] -= len(task.labeled)
        quotas[task.index] = task.quota
    assert seen and all(quotas[i] == q for i, q in enumerate(partition_quotas(free, 90)) if i in quotas)
    # run_partition is the method on the partition alone, its labeled rows selected first
    task = seen[0][0]
    own = select(task.Z, task.quota, "votek", labeled=task.labeled, center=False, k=15)
    picks, scores = run_partition(task)
    assert np.array_equal(picks, task.rows[own.indices]) and np.array_equal(scores, own.scores)
    # merge: the largest partition scores, from the same partition runs
    merged = partitioned_select(pool, 30, "votek", n_partitions=5, oversample=3.0, labeled=labeled, final="merge", k=15)
    runs = [run_partition(task) for task, _ in seen]
    all_scores = np.concatenate([s for _, s in runs])
    assert np.array_equal(np.sort(merged.scores)[::-1], np.sort(all_scores)[::-1][:30])
    assert set(merged.indices.tolist()) <= set(np.concatenate([p for p, _ in runs]).tolist())


@pytest.mark.parametrize(
    ("method", "params"), [("ideal", {"n_rr_sets": 3000, "n_mc": 0}), ("kmeans", {"n_init": 1}), ("random", {})]
)
def test_other_methods_run_deterministically_with_distinct_picks(pool, method, params):
    a = partitioned_select(pool, 20, method, n_partitions=4, labeled=[0, 1], seed=3, **params)
    b = partitioned_select(pool, 20, method, n_partitions=4, labeled=[0, 1], seed=3, **params)
    assert np.array_equal(a.indices, b.indices) and a.method == method and a.influence is None
    assert len(set(a.indices.tolist())) == 20 and not {0, 1} & set(a.indices.tolist())


def test_partitioned_picks_cover_the_pool_and_a_memmap_gives_the_same(pool, tmp_path):
    sel = partitioned_select(pool, 24, "facility", n_partitions=6, final="merge", k=10)
    greedy = partitioned_select(pool, 24, "facility", n_partitions=6, k=10)
    path = tmp_path / "pool.npy"
    np.save(path, pool)
    mapped = partitioned_select(np.load(path, mmap_mode="r"), 24, "facility", n_partitions=6, final="merge", k=10)
    assert np.array_equal(mapped.indices, sel.indices)
    exact = select(pool, 24, "facility", k=10)
    graph = build_knn_graph(prepare_vectors(pool), 10, exact=True)
    random = select(pool, 24, "random")

    def value(picks: np.ndarray) -> float:  # F(S) on the pool's exact graph
        chosen = np.zeros(len(pool), dtype=bool)
        chosen[picks] = True
        w = np.where(chosen[graph.neighbors], np.maximum(graph.similarities, 0.0), 0.0).max(axis=1)
        return float(np.where(chosen, 1.0, w).sum())

    assert value(exact.indices) == pytest.approx(exact.scores.sum())
    assert value(sel.indices) >= 0.95 * value(exact.indices)
    # without oversampling every partition gives all its candidates: the params say so
    tight = partitioned_select(pool, 24, "facility", n_partitions=6, oversample=1.0, final="merge", k=10)
    assert tight.params["saturated_partitions"] == sum(
        q > 0 for q in partition_quotas(tight.params["partition_sizes"], 24)
    )
    assert value(greedy.indices) > 1.5 * value(random.indices)  # the candidates-only graph loses more


def test_bad_settings_name_the_field(pool):
    with pytest.raises(InvalidInputError, match="n_partitions"):
        partitioned_select(pool, 5, n_partitions=0)
    with pytest.raises(InvalidInputError, match="n_partitions"):
        partitioned_select(pool, 5, n_partitions=len(pool) + 1)
    with pytest.raises(InvalidInputError, match="final"):
        partitioned_select(pool, 5, n_partitions=2, final="best")
    with pytest.raises(InvalidInputError, match="oversample"):
        partitioned_select(pool, 5, n_partitions=2, oversample=0.5)
    with pytest.raises(InvalidInputError, match="budget"):
        partitioned_select(pool, len(pool) + 1, n_partitions=2)
    with pytest.raises(InvalidInputError, match="votek2"):
        partitioned_select(pool, 5, "votek2", n_partitions=2)
    with pytest.raises(InvalidInputError, match="rho"):
        partitioned_select(pool, 5, n_partitions=2, rho=0.5)
    bad = pool.copy()
    bad[123, 4] = np.nan
    with pytest.raises(InvalidInputError, match="row 123"):
        partitioned_select(bad, 5, n_partitions=2)


def test_ray_map_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match="fewshot\\[ray\\]"):
        ray_map(run_partition, [])


def test_final_auto_merges_gain_scores_and_runs_the_greedy_otherwise(pool):
    from fewshot.annotate import final_rule

    assert [final_rule("auto", m) for m in ("votek", "facility", "ideal", "votek-div")] == ["merge"] * 4
    assert [final_rule("auto", m) for m in ("random", "kmeans")] == ["greedy", "greedy"]
    assert final_rule("greedy", "votek") == "greedy"
    by_default = partitioned_select(pool, 20, "votek", n_partitions=4, k=15)
    merged = partitioned_select(pool, 20, "votek", n_partitions=4, k=15, final="merge")
    assert by_default.params["final"] == "merge" and np.array_equal(by_default.indices, merged.indices)
    assert partitioned_select(pool, 20, "random", n_partitions=4).params["final"] == "greedy"
