"""``fewshot udr ...``: mine LM feedback, train a UDR retriever over pools, list trained models, build
a pool's UDR index. Thin commands over the Workspace's UDR service (the API calls the same functions).

Retrieve or build prompts with a trained model by passing ``--retriever udr:<model>`` to
``fewshot retrieve`` / ``fewshot prompt``.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._cli_support import console, err_console, table
from .exceptions import InvalidInputError

udr_app = typer.Typer(no_args_is_help=True, help="UDR: a demonstration retriever trained on language-model "
                                                 "feedback (mine, train, models, index).")


def _ws(ctx: typer.Context):
    return ctx.find_root().obj.ws


def _pools(values: list[str]) -> list[str]:
    out = [p.strip() for v in values for p in v.split(",") if p.strip()]
    if not out:
        raise InvalidInputError("give at least one pool")
    return out


def _instructions(values: Optional[list[str]]) -> Optional[dict[str, str]]:
    """``POOL=TEXT`` pairs (repeatable)."""
    if not values:
        return None
    out = {}
    for v in values:
        pool, sep, text = v.partition("=")
        if not sep or not pool.strip():
            raise InvalidInputError(f"--instruction must be POOL=TEXT, got {v!r}")
        out[pool.strip()] = text
    return out


@contextmanager
def stage_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback: one rich bar per stage, on stderr."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err_console) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update


@udr_app.command("mine")
def udr_mine(ctx: typer.Context, pools: list[str] = typer.Argument(..., help="Pools (labeled items) to mine."),
             lm: str = typer.Option("smollm2", help="LM backend: smollm2, gemma3-270m, hf:<dir>, openai:<url>#<model>."),
             candidates: int = typer.Option(50, help="BM25 candidates per training item (self excluded)."),
             template: str = typer.Option("default", help="Prompt format of the feedback: default "
                                          "('Input: {text}\\nAnswer: {label}') or a prompt preset."),
             max_queries: Optional[int] = typer.Option(None, help="Training items per pool (seeded sample) "
                                                       "[default: all labeled items]."),
             seed: int = typer.Option(0),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Score each training item's BM25 candidates with the LM (stored; re-runs score only new pairs).

    A score is the mean NLL of the item's gold label given the candidate as a demonstration."""
    with stage_bars() as bar:
        report = _ws(ctx).udr_mine(_pools(pools), lm=lm, n_candidates=candidates, template=template,
                                   max_queries=max_queries, seed=seed, progress=bar)
    if as_json:
        typer.echo(json.dumps(report))
        return
    console.print(f"{report['pairs']} pairs: {report['scored']} scored by {report['lm']}, {report['cached']} "
                  f"already stored; {report['tokens']} tokens in {report['seconds']:.1f}s")


@udr_app.command("train")
def udr_train(ctx: typer.Context, name: str = typer.Argument(..., help="Model name (versions are kept)."),
              pools: list[str] = typer.Argument(..., help="Pools to train on jointly (one task each)."),
              lm: str = typer.Option("smollm2", help="LM backend giving the feedback."),
              rounds: int = typer.Option(1, help="Mining rounds: 2+ re-mines candidates with the trained model "
                                         "(paper: 3)."),
              candidates: int = typer.Option(50, help="Candidates per training item and round."),
              template: str = typer.Option("default", help="Prompt format of the feedback (default or a preset)."),
              instruction: Optional[list[str]] = typer.Option(None, help="POOL=TEXT: the encoder's instruction "
                                                              "for a pool [default: its description or name]."),
              max_queries: Optional[int] = typer.Option(None, help="Training items per pool [default: all]."),
              base_model: Optional[str] = typer.Option(None, help="sentence-transformers model to start from "
                                                       "[default: the bundled all-MiniLM-L6-v2]."),
              epochs: int = typer.Option(3), batch_size: int = typer.Option(8), lr: float = typer.Option(3e-5),
              seed: int = typer.Option(0),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Train a UDR retriever on POOLS jointly and save it as the next version of NAME.

    Mines the LM feedback not stored yet first. Use the model with `--retriever udr:NAME`."""
    with stage_bars() as bar:
        info = _ws(ctx).udr_train(name, _pools(pools), lm=lm, rounds=rounds, n_candidates=candidates,
                                  template=template, instructions=_instructions(instruction),
                                  max_queries=max_queries, base_model=base_model, epochs=epochs,
                                  batch_size=batch_size, lr=lr, seed=seed, progress=bar)
    if as_json:
        typer.echo(json.dumps(info.to_dict()))
        return
    train = (info.metrics.get("training") or [{}])[-1]
    console.print(f"trained [bold]{info.spec}[/] on {', '.join(info.params['pools'])}: {train.get('steps')} steps "
                  f"in {train.get('seconds')}s; saved to {info.path}")


@udr_app.command("models")
def udr_models(ctx: typer.Context, name: Optional[str] = typer.Argument(None, help="Only this model's versions."),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """List trained models (every version)."""
    models = _ws(ctx).list_models(name)
    if as_json:
        for m in models:
            typer.echo(json.dumps(m.to_dict()))
        return
    table("trained models", ["spec", "pools", "lm", "rounds", "created"],
          [[m.spec, ",".join(m.params.get("pools", [])), m.params.get("lm"), m.params.get("rounds"),
            m.created_at[:19]] for m in models])


@udr_app.command("index")
def udr_index(ctx: typer.Context, pool: str,
              model: str = typer.Option("udr", help="udr (newest model), udr:<name> or udr:<name>:v<N>."),
              task: Optional[str] = typer.Option(None, help="Which trained task's instruction to use for a pool "
                                                 "the model was not trained on.")) -> None:
    """Build or refresh POOL's index for a UDR model (re-encodes the labeled items with it)."""
    info = _ws(ctx).retrieval.build_udr_index(pool, model, task=task)
    console.print(f"UDR index {info['model']} of {pool}: version {info['version']}, {info['count']} items")
