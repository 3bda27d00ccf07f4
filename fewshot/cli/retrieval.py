"""``fewshot index`` and ``fewshot retrieve``: the retrieval index over a pool's labeled items and
demonstrations for queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ._help import FewshotTyper
from ._output import JSON_LINES_HELP, console, echo_json, escape, json_option, table
from ._progress import progress
from ._workspace import workspace

if TYPE_CHECKING:
    from fewshot.retrieve import Filter

__all__ = ["commands", "make_filter"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()

RETRIEVER_HELP = "Retriever: {choices:retriever}."


def make_filter(labels: list[str] | None, skills: list[str] | None) -> Filter | None:
    """A retrieval filter from repeatable ``--label`` / ``--skill`` options (None when neither)."""
    if not labels and not skills:
        return None
    from fewshot.retrieve import Filter

    return Filter(labels=labels or None, skills=skills or None)


@commands.command("index")
def index_cmd(
    ctx: typer.Context,
    pool: str,
    kind: str = typer.Option("auto", help="Index kind: {choices:index_kind} (auto: flat, HNSW for large pools)."),
    as_json: bool = json_option("One JSON object: the index version built or found."),
) -> None:
    """Build or refresh the retrieval index over POOL's labeled items (incremental, versioned)."""
    with progress(f"embed {pool}") as bar:
        info = workspace(ctx).build_index(pool, kind=kind, progress=bar)
    if as_json:
        echo_json(info.to_dict())
        return
    state = "built" if info.changed else "up to date:"
    console.print(f"index {state} version {info.version}, {info.count} labeled items ({escape(info.embedding_model)})")


@commands.command("retrieve")
def retrieve_cmd(
    ctx: typer.Context,
    pool: str,
    query: list[str] = typer.Argument(..., help="One or more queries."),
    k: int = typer.Option(8, "--k", "-k", help="Demonstrations per query."),
    retriever: str = typer.Option("dense", help=RETRIEVER_HELP),
    label: list[str] | None = typer.Option(None, help="Only items with this label (repeatable)."),
    skill: list[str] | None = typer.Option(None, help="Only items with this skill (repeatable)."),
    as_json: bool = json_option(JSON_LINES_HELP.format(what='query: {"query", "demos"}')),
) -> None:
    """Find demonstrations for queries among POOL's labeled items."""
    results = workspace(ctx).retrieve(pool, query, k=k, retriever=retriever, filter=make_filter(label, skill))
    for q, demos in zip(query, results):
        if as_json:
            from fewshot.service.retrieval import demo_to_dict

            echo_json({"query": q, "demos": [demo_to_dict(d) for d in demos]})
        else:
            table(
                f"{retriever}: {q[:60]}",
                ["rank", "id", "score", "label", "text"],
                [[d.rank + 1, d.id, f"{d.score:.3f}", d.label, d.text[:70]] for d in demos],
            )
