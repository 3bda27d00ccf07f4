"""``fewshot pools ...`` and ``fewshot examples ...``: create, list, show and delete pools; browse
their examples."""

from __future__ import annotations

from typing import Any

import typer

from ..prompt import PromptTemplate, parse_template
from ._help import FewshotTyper
from ._output import (
    JSON_LINES_HELP,
    console,
    echo_json,
    echo_json_lines,
    escape,
    json_option,
    print_json,
    showing,
    table,
)
from ._params import parse_pairs, unescape
from ._workspace import workspace

__all__ = ["pools_app", "examples_app", "prompt_template_arg"]

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
    prompt_template: str | None = typer.Option(
        None, help="The pool's prompt template: {choices:template}, a JSON/YAML file or a JSON object."
    ),
    as_json: bool = json_option(),
) -> None:
    """Create an empty pool."""
    info = workspace(ctx).create_pool(
        name,
        template=unescape(template),
        text_field=text_field,
        embedding_model=model,
        description=description,
        prompt_template=prompt_template_arg(prompt_template),
    )
    if as_json:
        echo_json(info.to_dict())
        return
    console.print(f"created pool [bold]{escape(info.name)}[/] (model {escape(info.embedding_model)})")


@pools_app.command("list")
def pools_list(ctx: typer.Context, as_json: bool = json_option("One JSON array of pools.")) -> None:
    """List pools with their sizes by status."""
    pools = workspace(ctx).list_pools()
    if as_json:
        echo_json([p.to_dict() for p in pools])
        return
    rows = [
        [p.name, p.size, p.counts["unlabeled"], p.counts["selected"], p.counts["labeled"], p.embedding_model]
        for p in pools
    ]
    table(f"{len(pools)} pools", ["name", "items", "unlabeled", "selected", "labeled", "model"], rows)


@pools_app.command("show")
def pools_show(
    ctx: typer.Context, name: str, as_json: bool = json_option("Compact JSON (the default is indented).")
) -> None:
    """Show one pool as JSON."""
    info = workspace(ctx).get_pool(name).to_dict()
    if as_json:
        echo_json(info)
    else:
        print_json(info)


@pools_app.command("delete")
def pools_delete(
    ctx: typer.Context,
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = json_option('{"deleted": NAME, "size": N}.'),
) -> None:
    """Delete a pool, its examples, selections and vectors."""
    ws = workspace(ctx)
    info = ws.get_pool(name)
    if not yes and not typer.confirm(f"delete pool {name!r} and its {info.size} examples?", err=True):
        raise typer.Exit(code=1)
    ws.delete_pool(name)
    if as_json:
        echo_json({"deleted": name, "size": info.size})
        return
    console.print(f"deleted pool [bold]{escape(name)}[/]")


def prompt_template_arg(value: str | None) -> PromptTemplate | None:
    """A ``--template``/``--prompt-template`` value: a registered name, a JSON/YAML file or a JSON object."""
    return None if value is None else parse_template(value, allow_files=True)


def _print_template(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(info)
        return
    print_json({k: v for k, v in info.items() if k not in ("pool", "source")})
    console.print(f"[dim]pool {escape(info['pool'])}: {escape(info['source'])} template[/]")


@pools_app.command("template")
def pools_template(ctx: typer.Context, pool: str, as_json: bool = json_option()) -> None:
    """Show the prompt template POOL uses: its own, else the default derived from its fields and labels."""
    _print_template(workspace(ctx).pools.template_info(pool), as_json)


@pools_app.command("set-template")
def pools_set_template(
    ctx: typer.Context,
    pool: str,
    file: str | None = typer.Option(
        None, "--file", help="A JSON/YAML file (or {choices:template}) holding the whole template."
    ),
    instruction: str | None = typer.Option(None, help="Text put first (the system message in chat form)."),
    input_format: str | None = typer.Option(
        None, "--input", help='How an item is shown, e.g. "Premise: {premise}\\nHypothesis: {hypothesis}\\nAnswer:".'
    ),
    output_format: str | None = typer.Option(None, "--output", help='How its answer follows [default: " {label}"].'),
    separator: str | None = typer.Option(
        None, help='Between instruction, demonstrations and query [default: "\\n\\n"].'
    ),
    verbalizer: list[str] | None = typer.Option(None, help="LABEL=WORD, repeatable: how labels are written."),
    reset: bool = typer.Option(False, "--reset", help="Remove the pool's template (back to the derived default)."),
    as_json: bool = json_option(),
) -> None:
    """Set POOL's prompt template (fields of its items as {name}; no attribute or index access)."""
    parts = {
        "instruction": unescape(instruction),
        "input": unescape(input_format),
        "output": unescape(output_format),
        "separator": unescape(separator),
        "verbalizer": parse_pairs(verbalizer, "--verbalizer"),
    }
    given = {k: v for k, v in parts.items() if v is not None}
    if sum([file is not None, bool(given), reset]) != 1:
        raise typer.BadParameter(
            "give --file, or --input with --instruction/--output/--separator/--verbalizer, or --reset"
        )
    template: Any = None
    if file is not None:
        template = prompt_template_arg(file)
    elif given:
        if "input" not in given:
            raise typer.BadParameter("is required unless --file is given", param_hint="--input")
        template = given
    _print_template(workspace(ctx).set_pool_template(pool, template), as_json)


@examples_app.command("list")
def examples_list(
    ctx: typer.Context,
    pool: str,
    status: str | None = typer.Option(None, help="{choices:status}."),
    label: str | None = typer.Option(None, help="Only items with this label."),
    limit: int = typer.Option(20, help="At most this many items."),
    offset: int = typer.Option(0, help="Skip this many items first."),
    as_json: bool = json_option(JSON_LINES_HELP.format(what="example of the page")),
) -> None:
    """List a pool's examples, filtered by status or label (a page: --limit and --offset)."""
    ws = workspace(ctx)
    items = ws.list_examples(pool, status=status, label=label, limit=limit, offset=offset)
    if as_json:
        echo_json_lines(e.to_dict() for e in items)
        return
    total = ws.pools.count_examples(pool, status=status, label=label)
    table(
        f"{pool}: {showing(offset, len(items), total)} examples",
        ["id", "status", "label", "text"],
        [[e.external_id, e.status, e.label, e.text[:80]] for e in items],
    )
