"""End-to-end runs on small slices: table shape, gains, label statistics, files, resume, LM path."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from fewshot.evaluation import EvalConfig, load_dataset, run_eval
from fewshot.exceptions import InvalidInputError

PNG = b"\x89PNG\r\n\x1a\n"


def _config(mini_data, out, **kw):
    base = dict(
        datasets=["sst5"],
        methods=["random", "votek"],
        budgets=[5, 10],
        seeds=[0, 1],
        pool_size=200,
        test_size=30,
        k=4,
        method_params={"votek": {"k": 20}},
        data_dir=str(mini_data),
        out=str(out),
    )
    base.update(kw)
    return EvalConfig(**base)


@pytest.fixture(scope="module")
def proxy_run(mini_data, embedder, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-proxy")
    cfg = _config(mini_data, out)
    stages = []
    result = run_eval(cfg, embedder=embedder, progress=lambda s, d, t: stages.append((s, d, t)))
    return cfg, result, stages


def test_proxy_run_table_shape(proxy_run):
    cfg, result, _ = proxy_run
    assert len(result.runs) == 2 * 2 * 2  # methods x budgets x seeds
    assert [(r.method, r.budget) for r in result.summary] == [
        ("random", 5),
        ("random", 10),
        ("votek", 5),
        ("votek", 10),
    ]
    for r in result.summary:
        assert (r.dataset, r.scorer, r.retriever, r.n_seeds, r.n_test) == ("sst5", "proxy", "dense", 2, 30)
        assert 0.0 <= r.accuracy_mean <= 1.0 and r.accuracy_std >= 0.0
    info = result.datasets["sst5"]
    assert (info["pool_size"], info["test_sample_size"], info["n_scored"]) == (200, 30, 30)
    assert 0.2 <= info["majority_baseline"] <= 1.0


def _gold(mini_data, info) -> list[str]:
    ds = load_dataset("sst5", data_dir=mini_data)
    by_id = {str(ex.id): str(ex.label) for ex in list(ds.test) + list(ds.pool)}
    gold = [by_id[i] for i in info["test_ids"]]
    assert info["test_gold"] == gold
    return gold


def test_runs_record_each_items_prediction(proxy_run, mini_data):
    """``predictions`` is a label per scored item, and right exactly where ``correct`` says."""
    _, result, _ = proxy_run
    gold = _gold(mini_data, result.datasets["sst5"])
    labels = set(load_dataset("sst5", data_dir=mini_data).labels)
    for run in result.runs:
        assert len(run.predictions) == run.n_test == len(gold)
        assert set(run.predictions) <= labels
        assert "".join("1" if p == g else "0" for p, g in zip(run.predictions, gold)) == run.correct


def test_gain_over_random_is_computed_from_the_runs(proxy_run):
    _, result, _ = proxy_run
    for budget in (5, 10):
        rand = np.mean([r.accuracy for r in result.runs if r.method == "random" and r.budget == budget])
        vk = [r.accuracy for r in result.runs if r.method == "votek" and r.budget == budget]
        row = next(r for r in result.summary if r.method == "votek" and r.budget == budget)
        assert row.accuracy_mean == pytest.approx(np.mean(vk))
        assert row.accuracy_std == pytest.approx(np.std(vk, ddof=1))
        assert row.gain_vs_random == pytest.approx((np.mean(vk) - rand) / rand)


def test_label_statistics_describe_the_selected_items(mini_data, proxy_run):
    _, result, _ = proxy_run
    gold = {ex.id: ex.label for ex in load_dataset("sst5", data_dir=mini_data).pool}
    for run in result.runs:
        assert len(run.selected_ids) == run.budget == len(set(run.selected_ids))
        counts = Counter(gold[i] for i in run.selected_ids)
        assert run.label_counts == dict(sorted(counts.items()))
        assert run.n_labels_chosen == len(counts) and run.n_labels_total == 5
        assert run.majority_share == pytest.approx(max(counts.values()) / run.budget)
        assert run.mean_demos == min(4, run.budget)


def test_pools_differ_per_seed_and_test_items_are_fixed(proxy_run):
    _, result, _ = proxy_run
    by_seed = {r.seed: set(r.selected_ids) for r in result.runs if r.method == "votek" and r.budget == 10}
    assert by_seed[0] != by_seed[1]  # vote-k is deterministic: the spread comes from the pool draw
    assert len(result.datasets["sst5"]["test_ids"]) == 30


def test_runs_keep_per_item_results_and_cluster_coverage(proxy_run):
    """Each run's ``correct`` has one bit per scored test item (its mean is the accuracy); the
    summary pairs each method with random on the same seeds and items; coverage is measured
    against 2B k-means cells of the pool."""
    _, result, _ = proxy_run
    for run in result.runs:
        assert len(run.correct) == run.n_test == 30 and set(run.correct) <= {"0", "1"}
        assert run.accuracy == pytest.approx(run.correct.count("1") / 30)
        assert run.n_cells == 2 * run.budget
        assert 1 / run.n_cells <= run.cluster_coverage <= run.budget / run.n_cells
    for budget in (5, 10):
        rand = {r.seed: r.correct for r in result.runs if r.method == "random" and r.budget == budget}
        vk = {r.seed: r.correct for r in result.runs if r.method == "votek" and r.budget == budget}
        diff = [int(a) - int(b) for s in (0, 1) for a, b in zip(vk[s], rand[s])]
        row = next(r for r in result.summary if r.method == "votek" and r.budget == budget)
        assert row.delta_vs_random == pytest.approx(np.mean(diff)) and row.n_paired_seeds == 2
        assert row.delta_ci_low <= row.delta_vs_random <= row.delta_ci_high
        assert row.verdict in ("win", "tie", "loss") and row.cluster_coverage_mean is not None
    assert {r.verdict for r in result.summary if r.method == "random"} == {"baseline"}


def test_files_are_written(proxy_run):
    cfg, result, _ = proxy_run
    out = cfg.out_dir
    assert (out / "accuracy_vs_budget.png").read_bytes()[:8] == PNG
    lines = (out / "results.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("dataset,scorer,retriever,method,budget,n_seeds,accuracy_mean")
    assert len(lines) == 1 + 4
    assert len((out / "runs.csv").read_text(encoding="utf-8").splitlines()) == 1 + 8
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(data["summary"]) == 4 and len(data["runs"]) == 8
    assert data["config"]["pool_size"] == 200 and "proxy" in data["note"]
    assert set(result.files) == {"results_csv", "runs_csv", "plot", "json"}


def test_progress_reports_each_stage(proxy_run):
    _, _, stages = proxy_run
    names = {s for s, _, _ in stages}
    assert names == {"sst5: embed", "sst5: select"}
    assert ("sst5: select", 8, 8) in stages


def test_rerun_resumes_from_the_caches(proxy_run, embedder):
    cfg, first, _ = proxy_run
    n_texts = first.stats.embeddings_computed  # distinct texts of both pools and the test sample
    assert first.stats.selections_computed == 8 and first.stats.embeddings_cached == 0

    class NoEmbedder:
        def encode(self, texts):
            raise AssertionError("embeddings should come from the cache")

    again = run_eval(cfg, embedder=NoEmbedder())
    assert again.stats.selections_computed == 0 and again.stats.selections_cached == 8
    assert again.stats.embeddings_cached == n_texts and again.stats.embeddings_computed == 0
    assert [r.to_dict() for r in again.summary] == [r.to_dict() for r in first.summary]
    # a new seed computes only its own selections, and embeds only texts not seen before
    more = run_eval(
        cfg.replace(seeds=[0, 1, 2], out=str(cfg.out_dir / "more"), cache_dir=str(cfg.cache_path)), embedder=embedder
    )
    assert more.stats.selections_computed == 4 and more.stats.selections_cached == 8
    assert more.stats.embeddings_cached == n_texts
    assert 0 < more.stats.embeddings_computed <= 200


def test_selection_cache_is_keyed_by_the_selection_code(proxy_run, embedder, monkeypatch):
    """A cached selection made by other selection code is recomputed, not reused."""
    from fewshot.evaluation import _select_runs

    cfg, first, _ = proxy_run
    monkeypatch.setattr(_select_runs, "selection_code_version", lambda: "other-code-version")
    again = run_eval(cfg.replace(out=str(cfg.out_dir / "newcode")), embedder=embedder)
    assert again.stats.selections_cached == 0 and again.stats.selections_computed == 8


def test_selection_code_version_reads_the_annotate_sources():
    from fewshot.evaluation._cache import selection_code_version

    v = selection_code_version()
    assert len(v) == 16 and int(v, 16) >= 0 and selection_code_version() == v


def test_limit_and_single_file_dataset(mini_data, embedder, tmp_path):
    path = mini_data / "sst5" / "train.jsonl"
    cfg = EvalConfig(
        datasets=[{"name": "own", "path": str(path), "label_field": "label_text"}],
        methods=["random"],
        budgets=[6],
        seeds=[3],
        pool_size=500,
        test_size=40,
        limit=12,
        k=3,
        out=str(tmp_path),
    )
    result = run_eval(cfg, embedder=embedder, write=False)
    info = result.datasets["own"]
    # one file: 40 test items drawn from it, the pool is the rest (capped at what is left)
    assert info["pool_source_size"] == 220 and info["pool_size"] == 220
    assert info["n_scored"] == 12 and result.runs[0].n_test == 12
    assert not set(result.runs[0].selected_ids) & set(info["test_ids"])
    assert not (tmp_path / "results.csv").exists()


def test_budget_larger_than_the_pool(mini_data, embedder, tmp_path):
    cfg = _config(mini_data, tmp_path, datasets=["rte"], budgets=[150], pool_size=3000)
    with pytest.raises(InvalidInputError, match="exceeds the pool of 'rte'"):
        run_eval(cfg, embedder=embedder)


# ------------------------------------------------------------------------------ with an LM


def test_lm_scorer_on_a_tiny_model(mini_data, embedder, tiny_lm_dir, tmp_path, one_torch_thread):
    from fewshot.lm import get_backend

    cfg = _config(
        mini_data,
        tmp_path,
        methods=["random", "votek"],
        budgets=[5],
        seeds=[0],
        test_size=12,
        scorers=["proxy", "lm"],
        lm=f"hf:{tiny_lm_dir}",
        lm_options={"device": "cpu", "batch_size": 4},
        max_tokens=200,
    )
    result = run_eval(cfg, embedder=embedder)
    lm_runs = [r for r in result.runs if r.scorer == "lm"]
    assert len(lm_runs) == 2 and all(r.lm == f"hf:{tiny_lm_dir}" for r in lm_runs)
    assert all(0.0 <= r.accuracy <= 1.0 and 1 <= r.mean_demos <= 4 for r in lm_runs)
    assert result.stats.lm_computed == 2 * 12 and result.timings["sst5"]["lm"] > 0
    gold = _gold(mini_data, result.datasets["sst5"])
    for run in lm_runs:
        assert len(run.predictions) == 12 and set(run.predictions) <= set(
            load_dataset("sst5", data_dir=mini_data).labels
        )
        assert "".join("1" if p == g else "0" for p, g in zip(run.predictions, gold)) == run.correct
    assert {r.scorer for r in result.summary} == {"proxy", "lm"}

    # the same predictions straight from the backend (the protocol: argmin mean NLL)
    lm = get_backend(f"hf:{tiny_lm_dir}", device="cpu")
    from fewshot.evaluation import LMScorer
    from fewshot.evaluation._cache import CacheStats, LMCache

    with LMCache(cfg.cache_path / "lm.sqlite", CacheStats()) as cache:
        scorer = LMScorer(lm, cache, max_tokens=200, k=4, max_new_tokens=8)
        ds = load_dataset("sst5", data_dir=mini_data)
        builder = scorer.builder(ds.spec.prompt_template(), options=ds.options)
        text, used = scorer.build(builder, ds.test[0], ds.pool[:4])
        assert used >= 1 and text.endswith("Sentiment:")
        assert builder.counter.count(text) + builder.reserve_tokens <= 200

    # resume: every LM answer comes from the cache
    again = run_eval(cfg, embedder=embedder, lm=lm)
    assert again.stats.lm_computed == 0 and again.stats.lm_cached == 2 * 12
    assert [r.accuracy for r in again.runs] == [r.accuracy for r in result.runs]


def test_generation_task_on_a_tiny_model(mini_data, embedder, tiny_lm_dir, tmp_path, one_torch_thread):
    cfg = EvalConfig(
        datasets=["gsm8k"],
        methods=["random"],
        budgets=[3],
        seeds=[0],
        pool_size=40,
        test_size=8,
        limit=3,
        k=2,
        scorers=["proxy", "lm"],
        lm=f"hf:{tiny_lm_dir}",
        lm_options={"device": "cpu"},
        max_tokens=250,
        max_new_tokens=4,
        data_dir=str(mini_data),
        out=str(tmp_path),
    )
    result = run_eval(cfg, embedder=embedder)
    runs = {r.scorer: r for r in result.runs}
    assert set(runs) == {"proxy", "lm"} and runs["lm"].n_test == 3
    assert runs["lm"].n_labels_total == 0 and result.stats.lm_computed == 3
    assert len(runs["lm"].predictions) == 3  # the extracted answers ("" where none)
