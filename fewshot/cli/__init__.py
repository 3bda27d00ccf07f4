"""The ``fewshot`` command line: thin commands over `fewshot.Workspace` (the service layer).

One module per command group (``pools``, ``data``, ``selection``, ``retrieval``, ``prompts``,
``keys``, ``serve``, ``eval``, ``demo``, ``skills``, ``adaptive``, ``udr``), over the shared
plumbing: ``_app`` (root app and options), ``_workspace`` (the command's Workspace), ``_errors``
(exit codes), ``_progress`` (progress bars), ``_output`` (consoles, tables, JSON), ``_help``
(help texts naming the registered choices) and ``_params`` (parsing of option values).

Run it as ``fewshot``, ``python -m fewshot`` or ``python -m fewshot.cli``.
"""

from __future__ import annotations

from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    """The ``fewshot`` console script."""
    app()
