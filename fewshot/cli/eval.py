"""``fewshot eval``: accuracy against annotation budget per selection method (the vote-k / IDEAL
protocol of `fewshot.evaluation`); resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option, table
from ._progress import progress

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}%"


def _paired(r: Any) -> str:
    """``+3.8 [-4.3, +11.8]``: the paired delta vs random in points with its 95% interval."""
    if r.delta_vs_random is None or r.delta_ci_low is None or r.delta_ci_high is None:
        return ""
    return f"{100 * r.delta_vs_random:+.1f} [{100 * r.delta_ci_low:+.1f}, {100 * r.delta_ci_high:+.1f}]"


@commands.command("eval")
def eval_cmd(
    config: Path | None = typer.Option(None, "--config", help="YAML file of eval settings (options override it)."),
    dataset: list[str] | None = typer.Option(None, "--dataset", help="{choices:dataset} (repeatable)."),
    methods: str | None = typer.Option(None, help="Comma-separated selection methods ({choices:selection})."),
    budgets: str | None = typer.Option(None, help="Comma-separated budgets (default 18,100)."),
    seeds: str | None = typer.Option(None, help="Comma-separated seeds (default 0,1,2)."),
    scorer: str | None = typer.Option(None, help="{choices:scorer} or both (default proxy)."),
    lm: str | None = typer.Option(None, help="LM backend spec (default smollm2): {choices:lm}."),
    k: int | None = typer.Option(None, "--k", help="Demonstrations per test item (default 8)."),
    max_tokens: int | None = typer.Option(None, help="LM prompt budget in tokens (default 512)."),
    limit: int | None = typer.Option(None, help="Score only the first N test items."),
    pool_size: int | None = typer.Option(None, help="Pool drawn per seed (default 3000)."),
    test_size: int | None = typer.Option(None, help="Test items drawn (default 256)."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder for results, plots and caches (default eval-out)."
    ),
    as_json: bool = json_option(
        'One JSON object: {"summary", "runs", "config", "datasets", "timings", "cache", "files", ...}.'
    ),
) -> None:
    """Accuracy against annotation budget per selection method (the vote-k/IDEAL protocol); resumable."""
    from fewshot.evaluation import PROXY_NOTE, load_config, run_eval

    cfg = load_config(
        config,
        datasets=dataset or None,
        methods=methods,
        budgets=budgets,
        seeds=seeds,
        scorers=scorer,
        lm=lm,
        k=k,
        max_tokens=max_tokens,
        limit=limit,
        pool_size=pool_size,
        test_size=test_size,
        out=None if out is None else str(out),
    )
    with progress() as bar:
        result = run_eval(cfg, progress=bar)
    if as_json:
        echo_json({**result.to_dict(), "files": result.files})
        return
    table(
        "accuracy by annotation budget (mean ± std over seeds)",
        [
            "dataset",
            "scorer",
            "retriever",
            "method",
            "B",
            "seeds",
            "accuracy",
            "vs random",
            "paired Δ pts [95% CI]",
            "verdict",
            "labels chosen",
            "majority share",
        ],
        [
            [
                r.dataset,
                r.scorer if r.scorer == "proxy" else f"lm:{r.lm}",
                r.retriever,
                r.method,
                r.budget,
                r.n_seeds,
                f"{r.accuracy_mean:.3f} ± {r.accuracy_std:.3f}",
                _pct(r.gain_vs_random),
                _paired(r),
                r.verdict or "",
                f"{r.n_labels_chosen_mean:.1f}/{r.n_labels_total}"
                if r.n_labels_total
                else f"{r.n_labels_chosen_mean:.0f} answers",
                f"{r.majority_share_mean:.2f}",
            ]
            for r in result.summary
        ],
    )
    if "proxy" in cfg.scorers:
        console.print(f"[dim]{escape(PROXY_NOTE)}[/]")
    console.print(
        f"{len(result.runs)} runs in {result.seconds:.0f} s; wrote " + escape(", ".join(result.files.values()))
    )
