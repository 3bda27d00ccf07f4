"""The root ``fewshot`` app: global options (``--home``, ``--database-url``, ``--version``), the
exit-code table in its help, and the registration of every command group."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from fewshot import __version__

from . import adaptive, data, demo, eval, keys, pools, prompts, retrieval, selection, serve, skills, udr
from ._errors import EXIT_CODES_HELP, FewshotGroup
from ._help import FewshotTyper
from ._workspace import open_state

__all__ = ["app"]

app = FewshotTyper(
    cls=FewshotGroup,
    pretty_exceptions_enable=False,
    epilog=EXIT_CODES_HELP,
    help="fewshot: choose which examples to label, and which labeled examples go into each prompt.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"fewshot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", envvar="FEWSHOT_HOME", help="Data directory [default: ./.fewshot]."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="FEWSHOT_DATABASE_URL",
        help="SQLAlchemy URL [default: SQLite file in the data directory].",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    open_state(ctx, home=home, database_url=database_url)
    # model-loading progress bars from transformers / huggingface_hub are noise on a CLI
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


# top-level commands, in the order of the main job; then the command groups
for module in (data, selection, retrieval, prompts, demo, serve, eval):
    app.add_typer(module.commands)
app.add_typer(pools.pools_app, name="pools")
app.add_typer(pools.examples_app, name="examples")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(prompts.prompts_app, name="prompts")
app.add_typer(skills.skills_app, name="skills")
app.add_typer(adaptive.adaptive_app, name="adaptive")
app.add_typer(udr.udr_app, name="udr")
