"""``fewshot select``, ``budget``, ``rounds`` and ``import-labels``: what to annotate, how much, and
the labels coming back."""

from __future__ import annotations

from pathlib import Path

import typer

from ._help import FewshotTyper
from ._output import console, escape, table
from ._params import parse_ints
from ._progress import progress
from ._workspace import workspace

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()


@commands.command("select")
def select_cmd(
    ctx: typer.Context,
    pool: str,
    budget: int = typer.Option(..., "--budget", "-b", help="How many items to choose."),
    method: str = typer.Option("votek", help="Selection method: {choices:selection}."),
    seed: int = typer.Option(0, help="Random seed (same seed, same pool: same round)."),
    k: int | None = typer.Option(None, help="Neighbours in the graph [default: the method's own]."),
    confidence: str = typer.Option(
        "similarity", help="Stage-2 confidence of two-stage vote-k (votek2): {choices:confidence}."
    ),
    no_center: bool = typer.Option(False, "--no-center", help="Do not subtract the pool mean."),
    show: int = typer.Option(10, help="How many picks to print."),
) -> None:
    """Choose BUDGET items of POOL to annotate; stored as the pool's next selection round."""
    params = {} if k is None else {"k": k}
    with progress(f"select {method}") as bar:
        rnd = workspace(ctx).select(
            pool,
            budget=budget,
            method=method,
            seed=seed,
            center=not no_center,
            confidence=confidence,
            progress=bar,
            **params,
        )
    extra = f", influence {rnd.influence:.1f}" if rnd.influence is not None else ""
    console.print(f"round {rnd.number}: {len(rnd.items)} items selected with {escape(rnd.method)}{extra}")
    table(
        f"first {min(show, len(rnd.items))} picks",
        ["#", "id", "score", "text"],
        [[i.position + 1, i.external_id, f"{i.score:.4g}", i.text[:70]] for i in rnd.items[:show]],
    )


@commands.command("budget")
def budget_cmd(
    ctx: typer.Context,
    pool: str,
    budgets: str | None = typer.Option(None, help="Comma-separated budgets [default: 10,20,50,... up to 1000]."),
    method: str = typer.Option("votek", help="Selection method whose nested picks are measured: {choices:selection}."),
    seed: int = typer.Option(0, help="Random seed."),
    threshold: float | None = typer.Option(
        None, help="Cosine threshold for coverage [default: median 10th-neighbour cosine]."
    ),
    plot: Path = typer.Option(Path("budget.png"), help="PNG file for the curve."),
) -> None:
    """How many items to pay for: coverage and influence against budget, with a recommendation."""
    grid = parse_ints(budgets, "--budgets") or None
    with progress(f"budget curve ({method})") as bar:
        curve = workspace(ctx).budget(
            pool, budgets=grid, method=method, seed=seed, threshold=threshold, plot=plot, progress=bar
        )
    table(
        f"{pool}: budget curve ({method}, coverage threshold {curve.threshold:.3f})",
        ["budget", "coverage", "mean best cosine", "influence", ""],
        [
            [
                r["budget"],
                f"{r['coverage']:.3f}",
                f"{r['mean_similarity']:.3f}",
                "" if r["influence"] is None else f"{r['influence']:.1f}",
                "<- recommended" if r["recommended"] else "",
            ]
            for r in curve.to_rows()
        ],
    )
    console.print(
        f"recommended budget: [bold]{curve.recommended}[/] (knee of the coverage curve); plot: {escape(str(plot))}"
    )


@commands.command("rounds")
def rounds_cmd(ctx: typer.Context, pool: str) -> None:
    """List a pool's selection rounds."""
    rows = [
        [
            r.number,
            r.method,
            r.budget,
            r.seed,
            sum(i.label is not None for i in r.items),
            "" if r.influence is None else f"{r.influence:.1f}",
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        ]
        for r in workspace(ctx).rounds(pool)
    ]
    table(f"{pool}: selection rounds", ["round", "method", "budget", "seed", "labeled", "influence", "created"], rows)


@commands.command("import-labels")
def import_labels_cmd(
    ctx: typer.Context,
    pool: str,
    path: Path,
    fmt: str | None = typer.Option(None, "--format", help="{choices:label_format} [default: sniffed]."),
    id_field: str = typer.Option("id", help="Id field (jsonl/csv)."),
    label_field: str = typer.Option("label", help="Label field (jsonl/csv), or Argilla question name."),
    overwrite: bool = typer.Option(False, help="Replace labels already stored."),
    skip_invalid: bool = typer.Option(False, help="Apply the valid labels and report the rest."),
) -> None:
    """Read labels back (JSONL/CSV, Label Studio or Argilla export). All or nothing unless --skip-invalid."""
    report = workspace(ctx).import_labels(
        pool, path, fmt=fmt, id_field=id_field, label_field=label_field, overwrite=overwrite, skip_invalid=skip_invalid
    )
    console.print(
        f"read {report.read}: applied {report.applied}, unchanged {report.unchanged}, skipped {len(report.problems)}"
    )
    for p in report.problems[:20]:
        console.print(f"  skipped {escape(str(p))}")
