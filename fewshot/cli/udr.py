"""``fewshot udr ...``: mine LM feedback, train a UDR retriever over pools, list trained models, build
a pool's UDR index (the Workspace's UDR service; the API calls the same functions).

Retrieve or build prompts with a trained model by passing ``--retriever udr:<model>`` to
``fewshot retrieve`` / ``fewshot prompt``.
"""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import JSON_LINES_HELP, console, echo_json, echo_json_lines, escape, json_option, table
from ._params import parse_pairs, split_values
from ._progress import progress
from ._workspace import workspace

__all__ = ["udr_app"]

udr_app = FewshotTyper(
    help="UDR: a demonstration retriever trained on language-model feedback (mine, train, models, index)."
)

LM_HELP = "LM backend giving the feedback: {choices:lm}."


def _pools(values: list[str]) -> list[str]:
    pools = split_values(values) or []
    if not pools:
        raise typer.BadParameter("give at least one pool", param_hint="POOLS")
    return pools


@udr_app.command("mine")
def udr_mine(
    ctx: typer.Context,
    pools: list[str] = typer.Argument(..., help="Pools (labeled items) to mine."),
    lm: str = typer.Option("smollm2", help=LM_HELP),
    candidates: int = typer.Option(50, help="BM25 candidates per training item (self excluded)."),
    template: str = typer.Option(
        "default",
        help="Prompt format of the feedback: default "
        "('Input: {text}\\nAnswer: {label}') or a prompt template "
        "({choices:template}).",
    ),
    max_queries: int | None = typer.Option(
        None, help="Training items per pool (seeded sample) [default: all labeled items]."
    ),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Score each training item's BM25 candidates with the LM (stored; re-runs score only new pairs).

    A score is the mean NLL of the item's gold label given the candidate as a demonstration."""
    with progress() as bar:
        report = workspace(ctx).udr_mine(
            _pools(pools),
            lm=lm,
            n_candidates=candidates,
            template=template,
            max_queries=max_queries,
            seed=seed,
            progress=bar,
        )
    if as_json:
        echo_json(report)
        return
    console.print(
        f"{report['pairs']} pairs: {report['scored']} scored by {escape(str(report['lm']))}, "
        f"{report['cached']} already stored; {report['tokens']} tokens in {report['seconds']:.1f}s"
    )


@udr_app.command("train")
def udr_train(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name (versions are kept)."),
    pools: list[str] = typer.Argument(..., help="Pools to train on jointly (one task each)."),
    lm: str = typer.Option("smollm2", help=LM_HELP),
    rounds: int = typer.Option(1, help="Mining rounds: 2+ re-mines candidates with the trained model (paper: 3)."),
    candidates: int = typer.Option(50, help="Candidates per training item and round."),
    template: str = typer.Option(
        "default", help="Prompt format of the feedback: default or a prompt template ({choices:template})."
    ),
    instruction: list[str] | None = typer.Option(
        None, help="POOL=TEXT: the encoder's instruction for a pool [default: its description or name]."
    ),
    max_queries: int | None = typer.Option(None, help="Training items per pool [default: all]."),
    base_model: str | None = typer.Option(
        None, help="sentence-transformers model to start from [default: the bundled all-MiniLM-L6-v2]."
    ),
    epochs: int = typer.Option(3, help="Training epochs."),
    batch_size: int = typer.Option(8, help="Training batch size."),
    lr: float = typer.Option(3e-5, help="Learning rate."),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Train a UDR retriever on POOLS jointly and save it as the next version of NAME.

    Mines the LM feedback not stored yet first. Use the model with `--retriever udr:NAME`."""
    with progress() as bar:
        info = workspace(ctx).udr_train(
            name,
            _pools(pools),
            lm=lm,
            rounds=rounds,
            n_candidates=candidates,
            template=template,
            instructions=parse_pairs(instruction, "--instruction"),
            max_queries=max_queries,
            base_model=base_model,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            progress=bar,
        )
    if as_json:
        echo_json(info.to_dict())
        return
    train = (info.metrics.get("training") or [{}])[-1]
    console.print(
        f"trained [bold]{escape(info.spec)}[/] on {escape(', '.join(info.params['pools']))}: "
        f"{train.get('steps')} steps in {train.get('seconds')}s; saved to {escape(str(info.path))}"
    )


@udr_app.command("models")
def udr_models(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Only this model's versions."),
    as_json: bool = json_option(JSON_LINES_HELP.format(what="model version")),
) -> None:
    """List trained models (every version)."""
    models = workspace(ctx).list_models(name)
    if as_json:
        echo_json_lines(m.to_dict() for m in models)
        return
    table(
        f"{len(models)} trained model versions",
        ["spec", "pools", "lm", "rounds", "created"],
        [
            [m.spec, ",".join(m.params.get("pools", [])), m.params.get("lm"), m.params.get("rounds"), m.created_at[:19]]
            for m in models
        ],
    )


@udr_app.command("index")
def udr_index(
    ctx: typer.Context,
    pool: str,
    model: str = typer.Option("udr", help="udr (newest model), udr:<name> or udr:<name>:v<N>."),
    task: str | None = typer.Option(
        None, help="Which trained task's instruction to use for a pool the model was not trained on."
    ),
    as_json: bool = json_option('One JSON object: {"model", "version", "count", ...}.'),
) -> None:
    """Build or refresh POOL's index for a UDR model (re-encodes the labeled items with it)."""
    info = workspace(ctx).retrieval.build_udr_index(pool, model, task=task)
    if as_json:
        echo_json(info)
        return
    console.print(
        f"UDR index {escape(info['model'])} of {escape(pool)}: version {info['version']}, {info['count']} items"
    )
