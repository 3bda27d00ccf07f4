"""The one mapping of fewshot's exception tree to exit codes, and the group class applying it.

Every `FewshotError` a command raises is printed to stderr as ``Error: <message>`` (no traceback)
and the process exits with the code of the most specific class in `EXIT_CODES`. Click's own
usage errors (a bad option or argument) keep exit code 2. The table is shown in ``fewshot --help``.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from fewshot.exceptions import (
    ConflictError,
    FewshotError,
    InvalidInputError,
    LMBackendError,
    MissingDependencyError,
    NotFoundError,
)

from ._help import HelpGroup
from ._output import err_console

__all__ = ["EXIT_CODES", "USAGE_EXIT_CODE", "EXIT_CODES_HELP", "exit_code", "report_error", "FewshotGroup"]

#: Click's exit code for a bad option or argument (kept).
USAGE_EXIT_CODE = 2

#: Exception class -> (exit code, what it means). The most specific class of an error wins.
EXIT_CODES: dict[type[FewshotError], tuple[int, str]] = {
    NotFoundError: (3, "not found: no such pool, round, example, index, model or prompt"),
    ConflictError: (4, "conflict: already exists, conflicting labels, stale or corrupt stored artifact"),
    InvalidInputError: (5, "invalid input: a bad value, or a bad record in an input or label file"),
    LMBackendError: (6, "the language-model backend failed"),
    MissingDependencyError: (7, "an optional dependency is missing (the message says what to install)"),
    FewshotError: (1, "any other fewshot error"),
}


def exit_code(exc: BaseException) -> int:
    """The exit code for ``exc``: that of the nearest class in its MRO listed in `EXIT_CODES`
    (``CorruptArtifactError`` -> 4, ``IngestError`` -> 5, ...); 1 for anything else."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls][0]
    return 1


def _help_table() -> str:
    rows = ["0  success", f"1  {EXIT_CODES[FewshotError][1]}", f"{USAGE_EXIT_CODE}  usage: a bad option or argument"]
    rows += [f"{code}  {meaning}" for code, meaning in sorted(EXIT_CODES.values()) if code != 1]
    return "Exit codes:\n" + "\n".join(rows)


#: The epilog of ``fewshot --help`` (paragraphs: one code per line once rendered).
EXIT_CODES_HELP = _help_table()


def report_error(exc: FewshotError) -> int:
    """Print ``exc`` to stderr and return its exit code."""
    err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    hint = getattr(exc, "hint", None)
    if hint:
        err_console.print(f"  ({escape(hint)})", highlight=False, soft_wrap=True)
    return exit_code(exc)


class FewshotGroup(HelpGroup):
    """The root group: maps every `FewshotError` raised by a command to its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FewshotError as exc:
            raise typer.Exit(code=report_error(exc)) from None
