"""``fewshot select``, ``budget``, ``rounds`` and ``import-labels``: what to annotate, how much, and
the labels coming back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option, table
from ._params import parse_floats, parse_ints, ray_address_option, ray_target
from ._progress import progress
from ._workspace import workspace

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()

_COST_HELP = (
    "Annotation cost per item: a constant (2), words:RATE (words:0.5/60 = half a second per word), "
    "tokens:RATE (approximate tokens), chars:RATE, field:NAME, or a sum (1+words:0.5/60); "
    "stored on the pool for later rounds."
)


def _cost_spec(cost: str | None, cost_field: str | None) -> str | None:
    """``--cost`` or ``--cost-field NAME`` (``field:NAME``); both is a usage error."""
    if cost is not None and cost_field is not None:
        raise typer.BadParameter("give --cost or --cost-field, not both", param_hint="--cost-field")
    if cost_field is not None:
        return f"field:{cost_field.strip()}"
    return cost


@commands.command("select")
def select_cmd(
    ctx: typer.Context,
    pool: str,
    budget: int | None = typer.Option(None, "--budget", "-b", help="How many items to choose."),
    budget_cost: float | None = typer.Option(
        None, "--budget-cost", help="Or: a total annotation cost to spend (in the unit of --cost)."
    ),
    cost: str | None = typer.Option(None, "--cost", help=_COST_HELP),
    cost_field: str | None = typer.Option(None, "--cost-field", help="Read each item's cost from this field."),
    method: str = typer.Option("votek", help="Selection method: {choices:selection}."),
    seed: int = typer.Option(0, help="Random seed (same seed, same pool: same round)."),
    k: int | None = typer.Option(None, help="Neighbours in the graph [default: the method's own]."),
    confidence: str | None = typer.Option(
        None,
        help="Stage-2 confidence of two-stage vote-k (votek2) without an LM: {choices:confidence} "
        "[default: similarity].",
    ),
    lm: str | None = typer.Option(
        None,
        "--lm",
        help="votek2 with a language model's confidence in its own answers (the pool's labeled items "
        "are the demonstrations and the first stage; answers cached in the workspace's cache/): an LM "
        "spec, {choices:lm}, or a configured name.",
    ),
    no_center: bool = typer.Option(False, "--no-center", help="Do not subtract the pool mean."),
    approx: str | None = typer.Option(
        None,
        "--approx",
        help="Build the method's kNN graph with an approximate search: {choices:approx} [default: exact "
        "up to 200,000 items, IVF above]. Graph methods only.",
    ),
    nprobe: int | None = typer.Option(
        None, "--nprobe", help="IVF lists scanned per item (higher: better recall, slower) [default: planned]."
    ),
    nlist: int | None = typer.Option(None, "--nlist", help="IVF lists [default: planned from the pool size]."),
    partitions: int | None = typer.Option(
        None,
        "--partitions",
        help="Partitioned selection for pools whose graph does not fit in memory: run the method per "
        "k-means partition (memory follows the largest), then choose among their candidates.",
    ),
    oversample: float = typer.Option(2.0, "--oversample", help="With --partitions: candidates per final pick."),
    final: str = typer.Option(
        "auto", "--final", help="With --partitions: the final choice, {choices:final} (auto: merge for gain scores)."
    ),
    ray: bool = typer.Option(False, "--ray", help="With --partitions: run the partitions as Ray tasks (ray extra)."),
    ray_address: str | None = ray_address_option(),
    show: int = typer.Option(10, help="How many picks to print."),
    as_json: bool = json_option("One JSON object: the round with all its items."),
) -> None:
    """Choose --budget items of POOL to annotate, or items whose costs fit --budget-cost; stored as
    the pool's next selection round."""
    given: dict[str, Any] = {"k": k, "approx": approx, "nprobe": nprobe, "nlist": nlist}
    params = {name: value for name, value in given.items() if value is not None}
    if partitions is not None:
        params.update(partitions=partitions, oversample=oversample, final=final)
    if (budget is None) == (budget_cost is None):
        raise typer.BadParameter("give --budget (items) or --budget-cost (a total cost)", param_hint="--budget")
    with progress(f"select {method}") as bar:
        rnd = workspace(ctx).selection.select(
            pool,
            budget=budget,
            budget_cost=budget_cost,
            cost=_cost_spec(cost, cost_field),
            method=method,
            seed=seed,
            center=not no_center,
            confidence=confidence,
            lm=lm,
            progress=bar,
            lm_progress=None if lm is None else bar.stage(f"LM confidence ({lm})"),
            ray=ray_target(ray, ray_address),
            **params,
        )
    if as_json:
        echo_json(rnd.to_dict())
        return
    extra = f", influence {rnd.influence:.1f}" if rnd.influence is not None else ""
    if "total_cost" in rnd.params:
        of = f" of {rnd.params['budget_cost']:g}" if rnd.params.get("budget_cost") is not None else ""
        extra += f", total cost {rnd.params['total_cost']:.4g}{of} ({escape(str(rnd.params.get('cost')))})"
    if "lm" in rnd.params:
        extra += (
            f", LM {escape(str(rnd.params['lm']))}: {rnd.params.get('lm_computed', 0)} answers scored, "
            f"{rnd.params.get('lm_cached', 0)} from the cache"
        )
    console.print(f"round {rnd.number}: {len(rnd.items)} items selected with {escape(rnd.method)}{extra}")
    chosen, reasons = rnd.params.get("chosen"), rnd.params.get("reasons")
    if isinstance(chosen, str):  # auto: which method ran and why
        why = reasons.get("why") if isinstance(reasons, dict) else None
        console.print(f"auto chose {escape(chosen)}" + (f": {escape(str(why))}" if why else ""))
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
    cost: str | None = typer.Option(None, "--cost", help="Work in cost units: " + _COST_HELP),
    cost_field: str | None = typer.Option(None, "--cost-field", help="Work in cost units, read from this field."),
    spends: str | None = typer.Option(
        None, help="With a cost: comma-separated spends [default: 10%, 20%, ... 100% of --max-spend]."
    ),
    max_spend: float | None = typer.Option(
        None, help="With a cost: the largest spend [default: median item cost x min(500, items/4)]."
    ),
    as_json: bool = json_option(
        'One JSON object: {"pool", "method", "threshold", "recommended", "plot", "rows"} '
        '(with a cost also "cost", "steps"; rows hold count_* and cost_* columns per spend).'
    ),
) -> None:
    """How many items to pay for: coverage and influence against budget, with a recommendation.
    With --cost or --cost-field: against money or minutes, count-based vs cost-aware selection on
    the same axis, a recommended spend and what each extra 10% of it buys."""
    spec = _cost_spec(cost, cost_field)
    if spec is not None or spends is not None or max_spend is not None:
        if budgets is not None:
            raise typer.BadParameter("--budgets counts items; with a cost give --spends", param_hint="--budgets")
        _spend_curve(
            ctx, pool, spec, parse_floats(spends, "--spends"), max_spend, method, seed, threshold, plot, as_json
        )
        return
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


def _spend_curve(
    ctx: typer.Context,
    pool: str,
    cost: str | None,
    spends: list[float] | None,
    max_spend: float | None,
    method: str,
    seed: int,
    threshold: float | None,
    plot: Path,
    as_json: bool,
) -> None:
    """``fewshot budget --cost``: the spend curve (`SelectionService.spend_curve`)."""
    ws = workspace(ctx)
    with progress(f"spend curve ({method})") as bar:
        curve = ws.selection.spend_curve(
            pool,
            cost=cost,
            spends=spends or None,
            max_spend=max_spend,
            method=method,
            seed=seed,
            threshold=threshold,
            plot=plot,
            progress=bar,
        )
    spec = ws.selection.cost_spec(pool, cost)
    if as_json:
        echo_json(
            {
                "pool": pool,
                "method": curve.method,
                "cost": None if spec is None else spec.text,
                "threshold": float(curve.threshold),
                "recommended": float(curve.recommended),
                "plot": str(plot),
                "rows": curve.to_rows(),
                "steps": curve.steps(),
            }
        )
        return

    def infl(x: float | None) -> str:
        return "" if x is None else f"{x:.1f}"

    table(
        f"{pool}: spend curve ({method}, cost {spec}, coverage threshold {curve.threshold:.3f})",
        ["spend", "count: items", "coverage", "influence", "cost-aware: items", "coverage", "influence", ""],
        [
            [
                f"{r['spend']:.4g}",
                r["count_items"],
                f"{r['count_coverage']:.3f}",
                infl(r["count_influence"]),
                r["cost_items"],
                f"{r['cost_coverage']:.3f}",
                infl(r["cost_influence"]),
                "<- recommended" if r["recommended"] else "",
            ]
            for r in curve.to_rows()
        ],
    )
    top = float(curve.spends[-1])
    table(
        "what each extra step of spend buys (cost-aware)",
        ["spend", "step", "+items", "+coverage", "+influence"],
        [
            [
                f"{st['from']:.4g} -> {st['to']:.4g}",
                f"+{(st['to'] - st['from']) / top:.0%}",
                st["items"],
                f"{st['coverage']:+.3f}",
                infl(st["influence"]),
            ]
            for st in curve.steps()
        ],
    )
    console.print(
        f"recommended spend: [bold]{curve.recommended:.4g}[/] (knee of the cost-aware coverage curve); "
        f"plot: {escape(str(plot))}"
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
