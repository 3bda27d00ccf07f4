"""``fewshot select``, ``budget``, ``rounds`` and ``import-labels``: what to annotate, how much, and
the labels coming back."""

from __future__ import annotations

from pathlib import Path

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option, table
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
    as_json: bool = json_option("One JSON object: the round with all its items."),
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
    if as_json:
        echo_json(rnd.to_dict())
        return
    extra = f", influence {rnd.influence:.1f}" if rnd.influence is not None else ""
    console.print(f"round {rnd.number}: {len(rnd.items)} items selected with {escape(rnd.method)}{extra}")
    table(
        f"first {min(show, len(rnd.items))} of {len(rnd.items)} picks",
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
    as_json: bool = json_option('One JSON object: {"pool", "method", "threshold", "recommended", "plot", "rows"}.'),
) -> None:
    """How many items to pay for: coverage and influence against budget, with a recommendation."""
    grid = parse_ints(budgets, "--budgets") or None
    with progress(f"budget curve ({method})") as bar:
        curve = workspace(ctx).budget(
            pool, budgets=grid, method=method, seed=seed, threshold=threshold, plot=plot, progress=bar
        )
    if as_json:
        echo_json(
            {
                "pool": pool,
                "method": curve.method,
                "threshold": float(curve.threshold),
                "recommended": int(curve.recommended),
                "plot": str(plot),
                "rows": curve.to_rows(),
            }
        )
        return
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
def rounds_cmd(
    ctx: typer.Context, pool: str, as_json: bool = json_option("One JSON array of rounds, with their items.")
) -> None:
    """List a pool's selection rounds."""
    rounds = workspace(ctx).rounds(pool)
    if as_json:
        echo_json([r.to_dict() for r in rounds])
        return
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
        for r in rounds
    ]
    table(
        f"{pool}: {len(rounds)} selection rounds",
        ["round", "method", "budget", "seed", "labeled", "influence", "created"],
        rows,
    )


@commands.command("import-labels")
def import_labels_cmd(
    ctx: typer.Context,
    pool: str,
    path: Path,
    fmt: str | None = typer.Option(None, "--format", help="{choices:label_format} [default: sniffed]."),
    id_field: str = typer.Option("id", help="Id field (jsonl/csv)."),
    label_field: str = typer.Option("label", help="Label field (jsonl/csv), or Argilla question name."),
    control: str | None = typer.Option(
        None,
        help="Label Studio control (from_name) / Argilla question holding the label "
        "[default: any Choices control; the only question].",
    ),
    resolve: str = typer.Option(
        "majority",
        help="Several annotators of one item: majority, ground-truth (the annotation marked so) or unanimous.",
    ),
    overwrite: bool = typer.Option(False, help="Replace labels already stored."),
    skip_invalid: bool = typer.Option(False, help="Apply the valid labels and report the rest."),
    as_json: bool = json_option("One JSON object: the import report, problems included."),
) -> None:
    """Read labels back (JSONL/CSV, Label Studio JSON/JSON-MIN/CSV or Argilla nested/flat export,
    detected by content). Unannotated, cancelled and discarded items are skipped and counted.
    All or nothing unless --skip-invalid."""
    report = workspace(ctx).import_labels(
        pool,
        path,
        fmt=fmt,
        id_field=id_field,
        label_field=label_field,
        control=control,
        resolve=resolve,
        overwrite=overwrite,
        skip_invalid=skip_invalid,
    )
    if as_json:
        echo_json(report.to_dict())
        return
    console.print(
        f"read {report.read}: applied {report.applied}, unchanged {report.unchanged}, skipped {len(report.problems)}"
    )
    for p in report.problems[:20]:
        console.print(f"  skipped {escape(str(p))}")
    if report.skipped or report.dropped:
        counts = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items())) or "none"
        console.print(f"items without a label: {counts}; cancelled/discarded responses left out: {report.dropped}")
    if report.disagreements:
        console.print(f"{len(report.disagreements)} disagreements resolved by {report.resolve}:")
        for d in report.disagreements[:20]:
            console.print(
                f"  {escape(str(d['id']))} ({escape(d['where'])}): {escape(str(d['votes']))} -> {escape(d['label'])}"
            )
