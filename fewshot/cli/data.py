"""``fewshot ingest``, ``fewshot embed`` and ``fewshot export``: data into and out of a pool."""

from __future__ import annotations

from pathlib import Path

import typer

from fewshot.exceptions import InvalidInputError
from fewshot.service.selection import annotation_config_path

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option
from ._params import ray_address_option, ray_target, split_values, unescape
from ._progress import progress
from ._workspace import workspace
from .pools import prompt_template_arg

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()
#: Export formats that only a selection round's items are written in.
ANNOTATION_TOOLS = ("labelstudio", "argilla")


@commands.command("ingest")
def ingest(
    ctx: typer.Context,
    pool: str,
    path: Path,
    fmt: str | None = typer.Option(None, "--format", help="jsonl, csv or parquet [default: from suffix]."),
    id_field: str | None = typer.Option(None, help="Field holding the item id [default: id, else a text hash]."),
    text_field: str | None = typer.Option(None, help="Field holding the text [default: text]."),
    template: str | None = typer.Option(
        None, help='Render the text from fields: "{premise}\\nquestion: {hypothesis}".'
    ),
    label_field: str | None = typer.Option(None, help="Field holding a label (items with one are labeled)."),
    skills_field: str | None = typer.Option(None, help="Field holding skills (list or comma-separated)."),
    on_conflict: str = typer.Option("error", help="An id already stored with other content: {choices:on_conflict}."),
    keep_duplicates: bool = typer.Option(False, help="Keep items whose text duplicates another item's."),
    model: str | None = typer.Option(None, help="Embedding model, when the pool is created here."),
    prompt_template: str | None = typer.Option(
        None, help="Set the pool's prompt template: {choices:template}, a JSON/YAML file or a JSON object."
    ),
    as_json: bool = json_option("One JSON object: the ingest report."),
) -> None:
    """Stream a JSONL/CSV/Parquet file into POOL (created if missing). Re-ingesting adds nothing."""
    with progress(f"ingest {path.name}") as bar:
        report = workspace(ctx).ingest(
            pool,
            path,
            fmt=fmt,
            id_field=id_field,
            text_field=text_field,
            template=unescape(template),
            label_field=label_field,
            skills_field=skills_field,
            on_conflict=on_conflict,
            keep_duplicates=keep_duplicates,
            embedding_model=model,
            prompt_template=prompt_template_arg(prompt_template),
            progress=lambda done, _total: bar(done, 0),
        )
    if as_json:
        echo_json(report.to_dict())
        return
    console.print(
        f"read {report.read}: added {report.added} ({report.labeled} labeled), unchanged {report.unchanged}, "
        f"updated {report.updated}, duplicates skipped {report.duplicate_count}"
    )
    for line, ext_id, owner in report.duplicates[:5]:
        console.print(f"  line {line}: {escape(str(ext_id))} duplicates the text of {escape(str(owner))}")


@commands.command("embed")
def embed(
    ctx: typer.Context,
    pool: str,
    ray: bool = typer.Option(False, "--ray", help="Embed on a Ray cluster (needs the ray extra)."),
    ray_address: str | None = ray_address_option(),
    ray_gpus: float = typer.Option(0.0, "--ray-gpus", help="GPUs per Ray encoder actor (with --ray)."),
    as_json: bool = json_option("One JSON object: the embed report."),
) -> None:
    """Embed the pool's texts that have no vector yet (cached by content hash; resumable)."""
    with progress(f"embed {pool}") as bar:
        report = workspace(ctx).embeddings.embed(
            pool, ray=ray_target(ray, ray_address), ray_gpus=ray_gpus, progress=bar
        )
    if as_json:
        echo_json(report.to_dict())
        return
    console.print(
        f"embedded {report.embedded} texts, {report.cached} already cached, "
        f"dim {report.dim}, {report.seconds:.1f}s ({escape(report.model)})"
    )


@commands.command("export")
def export(
    ctx: typer.Context,
    pool: str,
    out: Path = typer.Option(..., "--out", "-o", help="Output file."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="{choices:write_format}; with --round: {choices:export_format} [default: from the suffix, else jsonl].",
    ),
    status: str | None = typer.Option(None, help="Only items with this status (without --round)."),
    round_number: int | None = typer.Option(None, "--round", help="Export this selection round's items."),
    latest: bool = typer.Option(False, "--latest", help="Export the latest selection round's items."),
    include_labeled: bool = typer.Option(False, help="With --round: also items that already have a label."),
    fields: list[str] | None = typer.Option(
        None,
        "--fields",
        help="With --round: item fields sent to annotators (repeat or comma-separate; '' for the text only) "
        "[default: all but gold columns such as label, label_text].",
    ),
    control: str = typer.Option(
        "label", help="With --round: name of the Label Studio Choices control / Argilla label question."
    ),
    labels: list[str] | None = typer.Option(
        None,
        "--labels",
        help="With --round, labelstudio/argilla: the choices offered (repeat or comma-separate) "
        "[default: the labels already in the pool].",
    ),
    predictions: bool = typer.Option(
        True,
        "--predictions/--no-predictions",
        help="With --round, labelstudio/argilla: pre-annotations from a kNN vote over the labeled items.",
    ),
    as_json: bool = json_option('One JSON object: {"pool", "path", "count", "round"}.'),
) -> None:
    """Write a pool's examples, or a selection round's items for annotators, to a file. For Label
    Studio / Argilla, the labeling config / dataset settings are written next to it."""
    ws = workspace(ctx)
    if round_number is not None or latest:
        n = ws.export_round(
            pool,
            out,
            number=round_number,
            fmt=fmt,
            only_unlabeled=not include_labeled,
            fields=split_values(fields),
            control=control,
            predictions=predictions,
            labels=split_values(labels),
        )
        message = f"wrote {n} items to annotate to {out}"
        config = annotation_config_path(out, fmt or "")
        if config is not None:
            message += f" (labeling config: {config})" if fmt == "labelstudio" else f" (settings: {config})"
    elif fmt in ANNOTATION_TOOLS:
        raise InvalidInputError(f"--format {fmt} exports a selection round's items: add --latest or --round N")
    else:
        n = ws.export(pool, out, fmt=fmt, status=status)
        message = f"wrote {n} examples to {out}"
    if as_json:
        echo_json(
            {
                "pool": pool,
                "path": str(out),
                "count": n,
                "round": round_number if round_number is not None else ("latest" if latest else None),
            }
        )
        return
    console.print(escape(message))
