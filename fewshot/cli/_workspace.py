"""The one way a command reaches its `Workspace` (and its settings).

The root callback stores a `CliState` in the root context; the workspace is opened on first use
(``fewshot --help`` or ``fewshot serve`` open no database) and closed when the command ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from fewshot.config import Settings

if TYPE_CHECKING:
    from fewshot.service.workspace import Workspace

__all__ = ["CliState", "open_state", "workspace", "settings"]


class CliState:
    """The settings of this invocation and the workspace opened on them, lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ws: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._ws is None:
            from fewshot.service.workspace import Workspace

            self._ws = Workspace(self.settings)
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None


def open_state(ctx: typer.Context, *, home: Path | None = None, database_url: str | None = None) -> CliState:
    """Build the invocation's settings (options over ``FEWSHOT_*``) and keep them in ``ctx.obj``."""
    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = home
    if database_url is not None:
        overrides["database_url"] = database_url
    state = CliState(Settings(**overrides))
    ctx.obj = state
    ctx.call_on_close(state.close)
    return state


def _state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # a sub-app invoked without the root callback
        state = open_state(cast(typer.Context, ctx.find_root()))
    return state


def workspace(ctx: typer.Context) -> Workspace:
    """The command's workspace (opened on first use, closed when the command ends)."""
    return _state(ctx).workspace


def settings(ctx: typer.Context) -> Settings:
    """The command's settings, without opening the workspace."""
    return _state(ctx).settings
