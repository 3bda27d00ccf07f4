"""``fewshot demo``: the main job on the bundled SST-5 sample, step by step
(`fewshot.service.demo.run_demo`)."""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option
from ._progress import progress
from ._workspace import workspace

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()


@commands.command("demo")
def demo_cmd(
    ctx: typer.Context,
    budget: int | None = typer.Option(None, help="Override the recommended budget."),
    method: str = typer.Option("votek", help="Selection method: {choices:selection}."),
    query: int = typer.Option(0, help="Which bundled test sentence to build a prompt for (0-49)."),
    as_json: bool = json_option(
        'One JSON object: {"pool", "budget", "round_number", "prompt_id", "prompt_text", "steps", ...}.'
    ),
) -> None:
    """The main job on the bundled SST-5 sample: ingest, embed, budget, select, label, index, prompt."""
    from fewshot.service.demo import run_demo

    ws = workspace(ctx)
    plot = ws.settings.home / "demo-budget.png"

    def report(step: str, message: str) -> None:
        console.print(f"[bold green]{step:>7}[/] {escape(message)}")

    with progress() as bars:
        result = run_demo(
            ws, budget=budget, method=method, query_index=query, plot=plot, report=report, progress=bars.stage
        )
    if as_json:
        from dataclasses import asdict

        echo_json(asdict(result))
        return
    console.rule("prompt")
    typer.echo(result.prompt_text)
    console.rule()
    console.print(
        f"provenance: fewshot --home {escape(str(ws.settings.home))} prompts show {result.prompt_id}", soft_wrap=True
    )
