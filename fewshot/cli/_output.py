"""Output of the commands: the stdout and stderr consoles, tables and JSON.

Data (JSON, prompts, secrets) goes to stdout through `typer.echo`; human messages through
`console`; progress bars and errors to stderr (`err_console`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = ["console", "err_console", "escape", "table", "print_json", "echo_json", "echo_json_lines"]

console = Console()
err_console = Console(stderr=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table on stdout; cells are shown as text (never parsed as rich markup)."""
    t = Table(title=escape(title), show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(Text("" if v is None else str(v)) for v in r))
    console.print(t)


def print_json(data: Any) -> None:
    """Pretty, highlighted JSON on stdout (``pools show``, ``prompts show``)."""
    console.print_json(json.dumps(data, ensure_ascii=False))


def echo_json(data: Any, *, indent: int | None = None) -> None:
    """One JSON document on stdout, unstyled (machine-readable ``--json`` output)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=indent))


def echo_json_lines(items: Iterable[Any]) -> None:
    """One JSON object per line on stdout."""
    for item in items:
        echo_json(item)
