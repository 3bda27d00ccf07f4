"""``fewshot serve``: the REST API (uvicorn) on this invocation's data directory."""

from __future__ import annotations

import os

import typer

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
    workers: int = typer.Option(1, help="Worker processes (jobs run in each worker's own thread)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Start the REST API (uvicorn) on the workspace's data directory."""
    import uvicorn

    s = settings(ctx)
    # the workers build their own Workspace from the environment
    os.environ["FEWSHOT_HOME"] = str(s.home.resolve())
    if s.database_url:
        os.environ["FEWSHOT_DATABASE_URL"] = s.database_url
    console.print(f"fewshot API on http://{escape(host)}:{port}/v1 (docs at /docs), data in {escape(str(s.home))}")
    uvicorn.run("fewshot.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level)
