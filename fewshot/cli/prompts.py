"""``fewshot prompt`` and ``fewshot prompts ...``: build a prompt from a pool's demonstrations, and
read the log of built prompts."""

from __future__ import annotations

import json
from typing import Any

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option, print_json, table
from ._workspace import workspace
from .pools import prompt_template_arg
from .retrieval import RETRIEVER_HELP, make_filter

__all__ = ["commands", "prompts_app"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()
prompts_app = FewshotTyper(help="The log of built prompts.")

TEMPLATE_HELP = (
    "Prompt template: {choices:template}, a JSON/YAML file or a JSON object [default: the pool's own, "
    "else Input:/Label: from its fields]."
)
TOKENIZER_HELP = "Token counter: {choices:tokenizer}."


@commands.command("prompt")
def prompt_cmd(
    ctx: typer.Context,
    pool: str,
    query: str,
    k: int = typer.Option(8, "--k", "-k", help="At most this many demonstrations."),
    retriever: str = typer.Option("dense", help=RETRIEVER_HELP),
    template: str | None = typer.Option(None, help=TEMPLATE_HELP),
    instruction: str | None = typer.Option(None, help="Replace the template's instruction."),
    max_tokens: int = typer.Option(1024, help="Token budget of the whole prompt."),
    tokenizer: str = typer.Option("approx", help=TOKENIZER_HELP),
    label: list[str] | None = typer.Option(None, help="Only demonstrations with this label."),
    chat: bool = typer.Option(False, "--chat", help="Print chat messages as JSON instead of text."),
    as_json: bool = json_option('One JSON object: {"id", "text", "messages", "demos", "n_tokens", ...}.'),
) -> None:
    """Build a prompt for QUERY from POOL's labeled items; prints it and its provenance id. QUERY may
    be a JSON object of fields (e.g. {"premise": ..., "hypothesis": ...}) for templates over several."""
    prompt, prompt_id = workspace(ctx).build_prompt(
        pool,
        query_arg(query),
        k=k,
        retriever=retriever,
        template=prompt_template_arg(template),
        instruction=instruction,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        filter=make_filter(label, None),
    )
    if as_json:
        echo_json({"id": prompt_id, **prompt.to_dict()})
        return
    if chat:
        echo_json(prompt.messages, indent=1)
    else:
        typer.echo(prompt.text)
    # the provenance footer is a message: stderr, so that `> prompt.txt` or `--chat > chat.json` is only data
    console.print(
        f"\n[dim]prompt {prompt_id}: {len(prompt.demos)} demonstrations, {prompt.n_tokens} tokens "
        f"({escape(tokenizer)}); `fewshot prompts show {prompt_id}` for its provenance[/]",
        soft_wrap=True,  # never break the id: the command must paste whole
    )


def query_arg(query: str) -> str | dict[str, Any]:
    """QUERY as given, or the fields of a JSON object."""
    if query.lstrip().startswith("{"):
        try:
            data = json.loads(query)
        except json.JSONDecodeError:
            return query
        if isinstance(data, dict):
            return data
    return query


@prompts_app.command("show")
def prompts_show(
    ctx: typer.Context, prompt_id: str, as_json: bool = json_option("Compact JSON (the default is indented).")
) -> None:
    """Which demonstrations went into a prompt, with scores, retriever and template."""
    log = workspace(ctx).prompt_log(prompt_id)
    if as_json:
        echo_json(log)
    else:
        print_json(log)


@prompts_app.command("list")
def prompts_list(
    ctx: typer.Context,
    pool: str,
    limit: int = typer.Option(20, help="The newest this many."),
    as_json: bool = json_option('One JSON object: {"total", "prompts"} (the logs, newest first).'),
) -> None:
    """The latest prompts built from POOL, with their full ids (for `fewshot prompts show`)."""
    ws = workspace(ctx)
    logs = ws.prompts.logs(pool, limit=limit)
    total = ws.prompts.count_logs(pool)
    if as_json:
        echo_json({"total": total, "prompts": logs})
        return
    table(
        f"{pool}: newest {len(logs)} of {total:,} prompts",
        ["id", "created", "retriever", "demos", "tokens", "query"],
        [
            [p["id"], p["created_at"][:19], p["retriever"], len(p["demo_ids"]), p["n_tokens"], p["query"][:50]]
            for p in logs
        ],
    )
