"""``fewshot serve``: the REST API (uvicorn) on this invocation's data directory."""

from __future__ import annotations

import json
import os

import typer

from ..exceptions import InvalidInputError
from ._help import FewshotTyper
from ._output import console, escape
from ._workspace import settings

__all__ = ["commands"]

#: Top-level commands (merged into the root app).
commands = FewshotTyper()


@commands.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(
        1,
        help="Worker processes, e.g. one per core: they map the same index files (one copy of the vectors) and "
        "each runs jobs in its own thread.",
    ),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    lm: list[str] = typer.Option(
        [],
        "--lm",
        metavar="NAME=SPEC",
        help="An LM backend API requests may name (repeatable), e.g. prod=openai:https://host/v1#model. "
        "Requests give NAME only; smollm2 and gemma3-270m need no entry. Also FEWSHOT_LM_BACKENDS (JSON).",
    ),
    tokenizer: list[str] = typer.Option(
        [],
        "--tokenizer",
        metavar="NAME=SPEC",
        help="A tokenizer API requests may name (repeatable), e.g. llama=hf:/models/llama. "
        "approx[:<chars per token>] needs no entry. Also FEWSHOT_TOKENIZERS (JSON).",
    ),
    embedding_model: list[str] = typer.Option(
        [],
        "--embedding-model",
        metavar="NAME=SPEC",
        help="An embedding model new pools may name over the API (repeatable), e.g. e5=/models/e5-small. "
        "The bundled all-MiniLM-L6-v2 needs no entry. Also FEWSHOT_EMBEDDING_MODELS (JSON).",
    ),
) -> None:
    """Start the REST API (uvicorn) on the workspace's data directory.

    Over the API, LM backends, tokenizers and embedding models are named entries of the server's
    allow-lists (--lm, --tokenizer, --embedding-model); requests never give URLs or paths.
    """
    import uvicorn

    s = settings(ctx)
    allow = {
        "FEWSHOT_LM_BACKENDS": {**s.lm_backends, **_entries("--lm", lm)},
        "FEWSHOT_TOKENIZERS": {**s.tokenizers, **_entries("--tokenizer", tokenizer)},
        "FEWSHOT_EMBEDDING_MODELS": {**s.embedding_models, **_entries("--embedding-model", embedding_model)},
    }
    # the workers build their own Workspace from the environment
    os.environ["FEWSHOT_HOME"] = str(s.home.resolve())
    if s.database_url:
        os.environ["FEWSHOT_DATABASE_URL"] = s.database_url
    for var, entries in allow.items():
        os.environ[var] = json.dumps(entries)
    console.print(f"fewshot API on http://{escape(host)}:{port}/v1 (docs at /docs), data in {escape(str(s.home))}")
    uvicorn.run("fewshot.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level)


def _entries(option: str, values: list[str]) -> dict[str, str]:
    """``NAME=SPEC`` options as a dict; `InvalidInputError` (exit 5) for a malformed one."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, spec = value.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name or not spec:
            raise InvalidInputError(f"{option} takes NAME=SPEC, got {value!r}")
        out[name] = spec
    return out
