"""Output of the commands: the stdout and stderr consoles, tables and JSON.

Data goes to stdout: JSON (`echo_json`, `echo_json_lines`), prompts, secrets (`typer.echo`),
result tables (`table`, drawn on `out_console`) and pretty JSON (`print_json`). Every human message
(``created pool ...``, provenance footers, notes) goes to stderr through `console`, as do progress
bars and errors (`err_console`), so ``fewshot ... > file`` keeps only the data. With ``--json``
(`json_option`) a command prints one JSON document on stdout, or JSON Lines where its help says so.
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

__all__ = [
    "console",
    "out_console",
    "err_console",
    "escape",
    "table",
    "print_json",
    "echo_json",
    "echo_json_lines",
    "json_option",
    "JSON_HELP",
    "JSON_LINES_HELP",
    "showing",
]

JSON_HELP = "Print one JSON document on stdout (messages go to stderr)."
JSON_LINES_HELP = "Print JSON Lines on stdout, one object per {what} (messages go to stderr)."


def json_option(help: str = JSON_HELP) -> Any:
    """The ``--json`` flag of a command that prints results (found by tests/test_cli_json.py)."""
    return typer.Option(False, "--json", help=help)


#: Results shown as text (tables, pretty JSON): stdout.
out_console = Console()
#: Human messages (what was done, provenance footers, notes): stderr.
console = Console(stderr=True)
#: Progress bars and errors: stderr.
err_console = console

#: Columns always shown whole (ids are pasted into other commands), never wrapped or cut.
_WHOLE = {"id", "spec", "name", "prompt id"}


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table on stdout; cells are shown as text (never parsed as rich markup).

    Id columns (``id``, ``spec``, ``name``) and short columns (numbers, dates) are never wrapped
    or shortened, however narrow the terminal: the table grows wider instead, so an id can be
    pasted into the next command. Long text columns wrap."""
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    t = Table(title=escape(title), show_lines=False)
    for j, c in enumerate(columns):
        width = max([len(c), *(len(r[j]) for r in cells)])
        if c in _WHOLE or width <= 20:
            t.add_column(c, no_wrap=True, min_width=width)
        else:
            t.add_column(c, overflow="fold")
    for r in cells:
        t.add_row(*(Text(v) for v in r))
    needed = out_console.measure(t).minimum
    out_console.print(t, width=max(out_console.width, needed), crop=False)


def showing(offset: int, count: int, total: int) -> str:
    """``showing 1-20 of 2,000`` (or ``none of 2,000`` for an empty page)."""
    if count == 0:
        return f"showing none of {total:,}"
    return f"showing {offset + 1:,}-{offset + count:,} of {total:,}"


def print_json(data: Any) -> None:
    """Pretty, highlighted JSON on stdout (``pools show``, ``prompts show``)."""
    out_console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def echo_json(data: Any, *, indent: int | None = None) -> None:
    """One JSON document on stdout, unstyled (machine-readable ``--json`` output)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=indent, default=str))


def echo_json_lines(items: Iterable[Any]) -> None:
    """One JSON object per line on stdout."""
    for item in items:
        echo_json(item)
