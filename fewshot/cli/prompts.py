"""``fewshot prompt`` and ``fewshot prompts ...``: build a prompt from a pool's demonstrations, and
read the log of built prompts."""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, print_json, table
from ._workspace import workspace
from .retrieval import RETRIEVER_HELP, make_filter

__all__ = ["commands", "prompts_app"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()
prompts_app = FewshotTyper(help="The log of built prompts.")

TEMPLATE_HELP = "Prompt template: {choices:template}."
TOKENIZER_HELP = "Token counter: {choices:tokenizer}."


@commands.command("prompt")
def prompt_cmd(
    ctx: typer.Context,
    pool: str,
    query: str,
    k: int = typer.Option(8, "--k", "-k", help="At most this many demonstrations."),
    retriever: str = typer.Option("dense", help=RETRIEVER_HELP),
    template: str = typer.Option("classification", help=TEMPLATE_HELP),
    instruction: str | None = typer.Option(None, help="Replace the template's instruction."),
    max_tokens: int = typer.Option(1024, help="Token budget of the whole prompt."),
    tokenizer: str = typer.Option("approx", help=TOKENIZER_HELP),
    label: list[str] | None = typer.Option(None, help="Only demonstrations with this label."),
    chat: bool = typer.Option(False, "--chat", help="Print chat messages as JSON instead of text."),
) -> None:
    """Build a prompt for QUERY from POOL's labeled items; prints it and its provenance id."""
    prompt, prompt_id = workspace(ctx).build_prompt(
        pool,
        query,
        k=k,
        retriever=retriever,
        template=template,
        instruction=instruction,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        filter=make_filter(label, None),
    )
    if chat:
        echo_json(prompt.messages, indent=1)
    else:
        typer.echo(prompt.text)
    console.print(
        f"\n[dim]prompt {prompt_id}: {len(prompt.demos)} demonstrations, {prompt.n_tokens} tokens "
        f"({escape(tokenizer)}); `fewshot prompts show {prompt_id}` for its provenance[/]"
    )


@prompts_app.command("show")
def prompts_show(ctx: typer.Context, prompt_id: str) -> None:
    """Which demonstrations went into a prompt, with scores, retriever and template."""
    print_json(workspace(ctx).prompt_log(prompt_id))


@prompts_app.command("list")
def prompts_list(ctx: typer.Context, pool: str, limit: int = typer.Option(20, help="The newest this many.")) -> None:
    """The latest prompts built from POOL."""
    logs = workspace(ctx).prompts.logs(pool, limit=limit)
    table(
        f"{pool}: prompts",
        ["id", "created", "retriever", "demos", "tokens", "query"],
        [
            [p["id"], p["created_at"][:19], p["retriever"], len(p["demo_ids"]), p["n_tokens"], p["query"][:50]]
            for p in logs
        ],
    )
