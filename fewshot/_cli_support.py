"""CLI plumbing: error translation, rich progress bars, table output."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from .exceptions import FewshotError

console = Console()
err_console = Console(stderr=True)


class FewshotGroup(TyperGroup):
    """Top-level group: turns every FewshotError raised by a command into a clean error exit."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FewshotError as exc:
            raise typer.Exit(code=_print_error(str(exc))) from None


@contextmanager
def progress_bar(description: str, *, unit_total: bool = True) -> Iterator[Callable[[int, int], None]]:
    """Yields a ``progress(done, total)`` callback drawing a rich progress bar on stderr."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns += [MofNCompleteColumn()] if unit_total else []
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


def _print_error(message: str) -> int:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return 1
