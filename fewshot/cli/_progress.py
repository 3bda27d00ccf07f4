"""The one progress-bar helper of the CLI: rich bars on stderr behind fewshot's progress callbacks.

>>> with progress("embed sst5") as bar:          # doctest: +SKIP
...     ws.embed("sst5", progress=bar)            # bar(done, total)
>>> with progress() as bar:                       # doctest: +SKIP
...     ws.udr_train(..., progress=bar)           # bar(stage, done, total): one bar per stage
...     run_demo(..., progress=bar.stage)         # bar.stage(name) -> a (done, total) callback
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ._output import err_console, out_console

__all__ = ["progress", "ProgressBars"]


class _CountColumn(ProgressColumn):
    """``done/total``, or just ``done`` while the total is unknown."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        return Text(f"{done}/{int(task.total)}" if task.total is not None else f"{done}", style="progress.download")


class ProgressBars:
    """A progress callback for both shapes fewshot uses.

    ``bars(done, total)`` advances the bar named by `progress`'s description; ``bars(stage, done,
    total)`` advances one bar per stage (created when the stage is first seen; the previous stage's
    bar is marked finished when its total was unknown). A ``total`` of 0 means unknown.
    """

    def __init__(self, bar: Progress, description: str | None) -> None:
        self._bar = bar
        self._default = description or ""
        self._tasks: dict[str, TaskID] = {}
        self._current: str | None = None
        if description:
            self._task(description)

    def __call__(self, *args: Any) -> None:
        if len(args) == 2:
            stage, (done, total) = self._default, args
        elif len(args) == 3:
            stage, done, total = args
        else:
            raise TypeError(f"progress takes (done, total) or (stage, done, total), got {len(args)} arguments")
        self._bar.update(self._task(str(stage)), completed=int(done), total=int(total) or None)

    def stage(self, name: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback drawing the bar of stage ``name``."""

        def update(done: int, total: int) -> None:
            self(name, done, total)

        return update

    def _task(self, stage: str) -> TaskID:
        if stage not in self._tasks:
            self._finish_current()
            self._tasks[stage] = self._bar.add_task(escape(stage), total=None)
        self._current = stage
        return self._tasks[stage]

    def _finish_current(self) -> None:
        if self._current is None:
            return
        task_id = self._tasks[self._current]
        task = next(t for t in self._bar.tasks if t.id == task_id)
        if task.total is None:
            self._bar.update(task_id, total=max(task.completed, 1), completed=max(task.completed, 1))


@contextmanager
def progress(description: str | None = None) -> Iterator[ProgressBars]:
    """Draw rich progress bars on stderr while the block runs; yields a `ProgressBars` callback.

    With a ``description``, its bar is shown at once (``bars(done, total)`` advances it); staged
    calls add a bar per stage. Output printed on stdout meanwhile appears above the bars when
    stdout is the same terminal.
    """
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        _CountColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False, redirect_stdout=out_console.is_terminal) as bar:
        yield ProgressBars(bar, description)
