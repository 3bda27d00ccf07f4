"""Result tables: per-run records, mean/std over seeds, relative gain over random, the paired
comparison with random (`fewshot.evaluation._paired`), CSV/JSON, plot."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.evaluation._paired import BOOTSTRAP_SEED, RESAMPLES, decode_correct, paired_delta

__all__ = [
    "RunResult",
    "SummaryRow",
    "summarize",
    "relative_gain",
    "write_csv",
    "write_json",
    "plot_accuracy",
    "SUMMARY_COLUMNS",
    "RUN_COLUMNS",
]


@dataclass(frozen=True)
class RunResult:
    """One (dataset, scorer, retriever, method, budget, seed) measurement.

    ``accuracy`` is the fraction of test items answered correctly: in-context accuracy for the
    ``lm`` scorer, agreement of the `knn_vote_proxy` for ``proxy``. The label statistics
    describe the annotated (selected) set: ``n_labels_chosen`` distinct gold labels out of
    ``n_labels_total``, the most frequent one and its share.

    ``correct`` is the per-test-item result, one character per scored test item in test-sample
    order (``"1"`` right, ``"0"`` wrong; see `encode_correct`): what the paired comparison
    uses. ``predictions`` holds the answer given for each of those items (the label chosen, the
    proxy's voted label, or a generation's extracted answer; ``""`` for none), so an analysis can
    ask which labels a method's demonstrations pushed the model towards. ``cluster_coverage`` is the fraction of the pool's ``n_cells`` k-means cells that
    hold a selected item (`fewshot.evaluation._coverage`).
    """

    dataset: str
    scorer: str
    retriever: str
    method: str
    budget: int
    seed: int
    accuracy: float
    n_test: int
    pool_size: int
    n_labels_chosen: int
    n_labels_total: int
    majority_label: str
    majority_share: float
    label_counts: dict[str, int]
    selection_seconds: float
    mean_demos: float
    lm: str | None = None
    selected_ids: list[str] = field(default_factory=list)
    cluster_coverage: float | None = None
    n_cells: int = 0
    correct: str = ""
    predictions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SummaryRow:
    """Mean and spread over seeds of one (dataset, scorer, retriever, method, budget).

    ``accuracy_std`` is the sample standard deviation (ddof=1; 0 with one seed).
    ``gain_vs_random`` = (accuracy_mean - random's accuracy_mean) / random's accuracy_mean at the
    same dataset, scorer, retriever and budget (None without a random row or when random is 0).

    The paired comparison with random (`paired_delta`, over the seeds both ran and their
    shared test items): ``delta_vs_random`` (mean of correct_method - correct_random, accuracy
    points as fractions), its 95% bootstrap interval ``delta_ci_low`` / ``delta_ci_high``,
    ``gain_paired`` (delta over random's accuracy on the same seeds), ``verdict`` (``win`` /
    ``tie`` / ``loss``; ``baseline`` on random's own row) and ``n_paired_seeds``. All None (0)
    without a random row or per-item results. ``cluster_coverage_mean``: the mean fraction of
    k-means cells of the pool hit by the selected set.
    """

    dataset: str
    scorer: str
    retriever: str
    method: str
    budget: int
    n_seeds: int
    accuracy_mean: float
    accuracy_std: float
    gain_vs_random: float | None
    n_labels_chosen_mean: float
    n_labels_total: int
    majority_share_mean: float
    selection_seconds_mean: float
    n_test: int
    lm: str | None = None
    cluster_coverage_mean: float | None = None
    delta_vs_random: float | None = None
    delta_ci_low: float | None = None
    delta_ci_high: float | None = None
    gain_paired: float | None = None
    verdict: str | None = None
    n_paired_seeds: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SUMMARY_COLUMNS = [f for f in SummaryRow.__dataclass_fields__]
RUN_COLUMNS = [
    f for f in RunResult.__dataclass_fields__ if f not in ("label_counts", "selected_ids", "correct", "predictions")
]


def relative_gain(accuracy: float, baseline: float) -> float | None:
    """``(accuracy - baseline) / baseline``; None when the baseline is 0.

    >>> relative_gain(0.75, 0.5)
    0.5
    """
    if baseline == 0:
        return None
    return (accuracy - baseline) / baseline


def summarize(
    runs: Iterable[RunResult], *, baseline: str = "random", resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> list[SummaryRow]:
    """Group runs over seeds; add the relative gain over ``baseline`` per budget and the paired
    comparison with it (``resamples`` bootstrap replicates from ``default_rng(seed)``).

    Rows come in first-seen order of (dataset, scorer, retriever), then method, then budget.
    """
    groups: dict[tuple, list[RunResult]] = {}
    for r in runs:
        groups.setdefault((r.dataset, r.scorer, r.retriever, r.method, r.budget), []).append(r)
    means = {key: float(np.mean([r.accuracy for r in rs])) for key, rs in groups.items()}
    rows = []
    for key, rs in groups.items():
        dataset, scorer, retriever, method, budget = key
        acc = np.array([r.accuracy for r in rs], dtype=np.float64)
        base = means.get((dataset, scorer, retriever, baseline, budget))
        base_runs = groups.get((dataset, scorer, retriever, baseline, budget))
        coverage = [r.cluster_coverage for r in rs if r.cluster_coverage is not None]
        rows.append(
            SummaryRow(
                dataset=dataset,
                scorer=scorer,
                retriever=retriever,
                method=method,
                budget=budget,
                n_seeds=len(rs),
                accuracy_mean=float(acc.mean()),
                accuracy_std=float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
                gain_vs_random=None if base is None else relative_gain(float(acc.mean()), base),
                n_labels_chosen_mean=float(np.mean([r.n_labels_chosen for r in rs])),
                n_labels_total=rs[0].n_labels_total,
                majority_share_mean=float(np.mean([r.majority_share for r in rs])),
                selection_seconds_mean=float(np.mean([r.selection_seconds for r in rs])),
                n_test=rs[0].n_test,
                lm=rs[0].lm,
                cluster_coverage_mean=float(np.mean(coverage)) if coverage else None,
                **_paired_fields(rs, base_runs, is_baseline=method == baseline, resamples=resamples, seed=seed),
            )
        )
    # stable order: group (dataset, scorer, retriever) as first seen, then method, then budget
    panel_order: dict[tuple, int] = {}
    method_order: dict[str, int] = {}
    for row in rows:
        panel_order.setdefault((row.dataset, row.scorer, row.retriever), len(panel_order))
        method_order.setdefault(row.method, len(method_order))
    rows.sort(
        key=lambda row: (panel_order[(row.dataset, row.scorer, row.retriever)], method_order[row.method], row.budget)
    )
    return rows


def _paired_fields(
    runs: list[RunResult], base_runs: list[RunResult] | None, *, is_baseline: bool, resamples: int, seed: int
) -> dict[str, Any]:
    """The `SummaryRow` paired-comparison fields of ``runs`` against ``base_runs``: over the
    seeds both have, with per-item results of the same length (the same test sample)."""
    if is_baseline:
        return {"verdict": "baseline"}
    if not base_runs:
        return {}
    by_seed = {r.seed: r for r in base_runs if r.correct}
    pairs = [(r, by_seed[r.seed]) for r in runs if r.correct and r.seed in by_seed]
    n = len(pairs[0][0].correct) if pairs else 0
    pairs = [(r, b) for r, b in pairs if len(r.correct) == len(b.correct) == n]
    if not pairs:
        return {}
    m = np.stack([decode_correct(r.correct) for r, _ in pairs])
    b = np.stack([decode_correct(b.correct) for _, b in pairs])
    p = paired_delta(m, b, resamples=resamples, seed=seed)
    return {
        "delta_vs_random": p.delta,
        "delta_ci_low": p.ci_low,
        "delta_ci_high": p.ci_high,
        "gain_paired": p.relative_gain,
        "verdict": p.verdict,
        "n_paired_seeds": p.n_seeds,
    }


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else value


def write_csv(rows: Sequence[Any], path: str | os.PathLike[str], *, columns: Sequence[str] | None = None) -> Path:
    """Write dataclass rows (`SummaryRow` or `RunResult`) as CSV with a header."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if columns is None:
        columns = SUMMARY_COLUMNS if not rows or isinstance(rows[0], SummaryRow) else RUN_COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            d = r.to_dict()
            w.writerow([_cell(d[c]) for c in columns])
    return path


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` (dicts, lists, dataclass rows) as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def default(obj: Any) -> Any:
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        if isinstance(obj, (np.integer,)):
            return int(obj)
        if isinstance(obj, (np.floating,)):
            return float(obj)
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=default, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def plot_accuracy(rows: Sequence[SummaryRow], path: str | os.PathLike[str]) -> Path:
    """PNG of accuracy against budget: one panel per (dataset, scorer, retriever), one line per
    method, error bars = std over seeds. Drawn on an Agg canvas (no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels: dict[tuple, list[SummaryRow]] = {}
    for r in rows:
        panels.setdefault((r.dataset, r.scorer, r.retriever), []).append(r)
    n = max(1, len(panels))
    cols = min(4, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * nrows), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax, ((dataset, scorer, retriever), prs) in zip(axes.flat, panels.items()):
        methods: dict[str, list[SummaryRow]] = {}
        for r in prs:
            methods.setdefault(r.method, []).append(r)
        for method, mrs in methods.items():
            mrs = sorted(mrs, key=lambda r: r.budget)
            ax.errorbar(
                [r.budget for r in mrs],
                [r.accuracy_mean for r in mrs],
                yerr=[r.accuracy_std for r in mrs],
                marker="o",
                capsize=3,
                label=method,
            )
        budgets = sorted({r.budget for r in prs})
        ax.set_xscale("log")
        ax.set_xticks(budgets)
        ax.set_xticklabels([str(b) for b in budgets])
        ax.minorticks_off()
        what = "kNN-vote proxy agreement" if scorer == "proxy" else f"LM accuracy ({prs[0].lm})"
        ax.set_title(f"{dataset} - {scorer}" + ("" if retriever == "dense" else f" ({retriever})"), fontsize=10)
        ax.set_xlabel("annotation budget")
        ax.set_ylabel(what, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
