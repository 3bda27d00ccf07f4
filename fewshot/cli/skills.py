"""``fewshot skills ...``: a pool's skill vocabulary, bulk skill edits, skill prediction and
difficulty thresholds (the Workspace's skill service; the API calls the same functions)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._help import FewshotTyper
from ._output import JSON_LINES_HELP, console, echo_json, escape, json_option, print_json, table
from ._params import split_values
from ._workspace import workspace

__all__ = ["skills_app"]

skills_app = FewshotTyper(help="Skill labels of a pool: vocabulary, bulk edits, prediction, difficulty thresholds.")


@skills_app.command("list")
def skills_list(
    ctx: typer.Context, pool: str, as_json: bool = json_option('One JSON object: {"skills", "counts", "stored"}.')
) -> None:
    """The pool's skill vocabulary (stored, or derived from its items) with item counts."""
    info = workspace(ctx).skill_vocabulary(pool)
    if as_json:
        echo_json(info)
        return
    source = "stored" if info["stored"] else "derived from items"
    table(
        f"{pool}: {len(info['skills'])} skills ({source})",
        ["skill", "items"],
        [[s, info["counts"].get(s, 0)] for s in info["skills"]],
    )


@skills_app.command("set")
def skills_set(
    ctx: typer.Context,
    pool: str,
    skill: list[str] | None = typer.Argument(None, help="The vocabulary (names or comma lists)."),
    reset: bool = typer.Option(False, "--reset", help="Forget the stored vocabulary; derive it from items."),
    as_json: bool = json_option('One JSON object: the vocabulary, {"skills", "counts", "stored"}.'),
) -> None:
    """Store the pool's skill vocabulary (refused while items carry skills outside it)."""
    if reset == bool(skill):
        raise typer.BadParameter("give the skills, or --reset", param_hint="SKILL")
    info = workspace(ctx).set_skill_vocabulary(pool, None if reset else split_values(skill))
    if as_json:
        echo_json(info)
        return
    console.print(
        f"{escape(pool)}: {len(info['skills'])} skills ({'stored' if info['stored'] else 'derived from items'})"
    )


@skills_app.command("edit")
def skills_edit(
    ctx: typer.Context,
    pool: str,
    ids: list[str] | None = typer.Option(None, "--id", help="Item id (repeatable or comma list)."),
    set_: list[str] | None = typer.Option(None, "--set", help="Replace the items' skills with these."),
    add: list[str] | None = typer.Option(None, "--add", help="Add these skills."),
    remove: list[str] | None = typer.Option(None, "--remove", help="Remove these skills."),
    file: Path | None = typer.Option(
        None, "--file", help="JSONL/CSV with id and skills per item (optional mode column); not with --id."
    ),
    mode: str = typer.Option("set", help="For --file: {choices:edit_mode}."),
    fmt: str | None = typer.Option(None, "--format", help="For --file: jsonl or csv [default: from the suffix]."),
    as_json: bool = json_option("One JSON object: the edit report."),
) -> None:
    """Bulk skill edits, all or nothing (errors name the id and line). An indexed pool's index is refreshed."""
    report = workspace(ctx).edit_skills(
        pool,
        split_values(ids),
        set=split_values(set_),
        add=split_values(add),
        remove=split_values(remove),
        path=file,
        mode=mode,
        fmt=fmt,
    )
    if as_json:
        echo_json(report.to_dict())
        return
    new = f"; new skills: {', '.join(report.new_skills)}" if report.new_skills else ""
    index = f"; index refreshed to v{report.index_version}" if report.index_version is not None else ""
    console.print(
        escape(f"{pool}: {report.changed} items changed, {report.unchanged} unchanged of {report.read}{new}{index}")
    )


@skills_app.command("predict")
def skills_predict(
    ctx: typer.Context,
    pool: str,
    query: list[str] = typer.Argument(..., help="One or more queries."),
    method: str = typer.Option("knn", help="Skill predictor: {choices:predictor}."),
    lm: str | None = typer.Option(None, help="LM backend spec for a predictor that needs one: {choices:lm}."),
    top: int = typer.Option(1, help="Skills per query."),
    as_json: bool = json_option(JSON_LINES_HELP.format(what='query: {"query", "skills"}')),
) -> None:
    """Predict the skills of queries from the pool's skill-labeled items (or an LM)."""
    preds = workspace(ctx).predict_skills(pool, query, method=method, top=top, lm=lm)
    for q, skills in zip(query, preds):
        if as_json:
            echo_json({"query": q, "skills": skills})
        else:
            typer.echo(f"{', '.join(skills) or '-'}\t{q[:80]}")


@skills_app.command("thresholds")
def skills_thresholds(
    ctx: typer.Context,
    pool: str,
    final: float | None = typer.Option(None, help="Difficult if the final step score <= this (0.85)."),
    mean: float | None = typer.Option(None, help="Difficult if the mean step score <= this (0.85)."),
    step: float | None = typer.Option(None, help="Difficult if a later step <= this (0.7)."),
    confidence: float | None = typer.Option(
        None, help="Difficult if the first answer's mean token log-prob <= this (-0.5)."
    ),
    consistency: float | None = typer.Option(
        None, help="Difficult if the share of samples agreeing is below this (0.5)."
    ),
    reset: bool = typer.Option(False, "--reset", help="Back to the defaults."),
    as_json: bool = json_option("Compact JSON (the default is indented)."),
) -> None:
    """Show or change the pool's difficulty thresholds (printed as JSON)."""
    update = {
        k: v
        for k, v in (
            ("final", final),
            ("mean", mean),
            ("step", step),
            ("confidence", confidence),
            ("consistency", consistency),
        )
        if v is not None
    }
    thresholds = workspace(ctx).difficulty_thresholds(pool, update or None, reset=reset).to_dict()
    if as_json:
        echo_json(thresholds)
    else:
        print_json(thresholds)
