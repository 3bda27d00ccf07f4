"""``fewshot pools ...`` and ``fewshot examples ...``: create, list, show and delete pools; browse
their examples."""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import console, echo_json_lines, escape, print_json, table
from ._params import unescape
from ._workspace import workspace

__all__ = ["pools_app", "examples_app"]

pools_app = FewshotTyper(help="Create, list, show and delete pools.")
examples_app = FewshotTyper(help="Browse the examples of a pool.")


@pools_app.command("create")
def pools_create(
    ctx: typer.Context,
    name: str,
    template: str | None = typer.Option(None, help='Text template, e.g. "{premise}\\nquestion: {hypothesis}".'),
    text_field: str | None = typer.Option(None, help="Field holding the text [default: text]."),
    model: str | None = typer.Option(None, help="sentence-transformers model name or local path."),
    description: str | None = typer.Option(None, help="What the pool holds."),
) -> None:
    """Create an empty pool."""
    info = workspace(ctx).create_pool(
        name, template=unescape(template), text_field=text_field, embedding_model=model, description=description
    )
    console.print(f"created pool [bold]{escape(info.name)}[/] (model {escape(info.embedding_model)})")


@pools_app.command("list")
def pools_list(ctx: typer.Context) -> None:
    """List pools with their sizes by status."""
    rows = [
        [p.name, p.size, p.counts["unlabeled"], p.counts["selected"], p.counts["labeled"], p.embedding_model]
        for p in workspace(ctx).list_pools()
    ]
    table("pools", ["name", "items", "unlabeled", "selected", "labeled", "model"], rows)


@pools_app.command("show")
def pools_show(ctx: typer.Context, name: str) -> None:
    """Show one pool as JSON."""
    print_json(workspace(ctx).get_pool(name).to_dict())


@pools_app.command("delete")
def pools_delete(
    ctx: typer.Context, name: str, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
) -> None:
    """Delete a pool, its examples, selections and vectors."""
    ws = workspace(ctx)
    info = ws.get_pool(name)
    if not yes and not typer.confirm(f"delete pool {name!r} and its {info.size} examples?"):
        raise typer.Exit(code=1)
    ws.delete_pool(name)
    console.print(f"deleted pool [bold]{escape(name)}[/]")


@examples_app.command("list")
def examples_list(
    ctx: typer.Context,
    pool: str,
    status: str | None = typer.Option(None, help="{choices:status}."),
    label: str | None = typer.Option(None, help="Only items with this label."),
    limit: int = typer.Option(20, help="At most this many items."),
    offset: int = typer.Option(0, help="Skip this many items first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List a pool's examples, filtered by status or label."""
    items = workspace(ctx).list_examples(pool, status=status, label=label, limit=limit, offset=offset)
    if as_json:
        echo_json_lines(e.to_dict() for e in items)
        return
    table(
        f"{pool}: {len(items)} examples",
        ["id", "status", "label", "text"],
        [[e.external_id, e.status, e.label, e.text[:80]] for e in items],
    )
