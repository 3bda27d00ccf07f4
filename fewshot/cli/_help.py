"""Help texts that name the registered choices when they are shown, escaped for rich markup.

A help string may hold ``{choices:<kind>}`` markers (``{choices:selection}``, ``{choices:retriever}``,
...); `render` replaces each with the names registered *now* in the matching registry, so a
method, retriever, template or predictor registered after this module was imported is listed too.
The values themselves are plain strings validated by the service layer (which reads the same
registries), never by a fixed list here.

`FewshotTyper` builds command groups whose commands (`FewshotCommand`) and groups (`HelpGroup`)
render their help this way, and escape it so that rich markup never eats square brackets
("[default: ./.fewshot]" stays as written).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

__all__ = ["CHOICES", "choices", "render", "HelpMixin", "FewshotCommand", "HelpGroup", "FewshotTyper"]

_MARKER = re.compile(r"\{choices:([a-z_]+)\}")


def _selection() -> list[str]:
    from fewshot.annotate import STRATEGIES

    return STRATEGIES.names()


def _retriever() -> list[str]:
    from fewshot.retrieve import RETRIEVERS
    from fewshot.service.retrieval import UDR_FORMS

    return [*RETRIEVERS.names(), *UDR_FORMS]


def _template() -> list[str]:
    from fewshot.prompt import TEMPLATES

    return TEMPLATES.names()


def _predictor() -> list[str]:
    from fewshot.adaptive import PREDICTORS

    return PREDICTORS.names()


def _predictor_no_lm() -> list[str]:
    from fewshot.adaptive import PREDICTORS

    return [name for name, cls in PREDICTORS.items() if not cls.needs_lm]


def _plus() -> list[str]:
    from fewshot.service.prompts import plus_choices

    return plus_choices()


def _tokenizer() -> Sequence[str]:
    from fewshot.prompt import TOKENIZER_SPECS

    return TOKENIZER_SPECS


def _judge() -> Sequence[str]:
    from fewshot.adaptive import TWO_PASS_JUDGES

    return [j for j in TWO_PASS_JUDGES if j != "scores"]  # scores need a step scorer: library only


def _status() -> Sequence[str]:
    from fewshot.service.pools import STATUSES

    return STATUSES


def _lm() -> list[str]:
    from fewshot.lm import BACKEND_SPECS, BACKENDS

    described = {spec.split(":", 1)[0] for spec in BACKEND_SPECS}
    return [*BACKEND_SPECS, *(f"{name}:<target>" for name in BACKENDS.names() if name not in described)]


def _export_format() -> Sequence[str]:
    from fewshot.service.selection import EXPORT_FORMATS

    return EXPORT_FORMATS


def _write_format() -> Sequence[str]:
    from fewshot.io import WRITE_FORMATS

    return WRITE_FORMATS


def _label_format() -> Sequence[str]:
    from fewshot.io import LABEL_FORMATS

    return LABEL_FORMATS


def _dataset() -> list[str]:
    from fewshot.evaluation import DATASETS

    return list(DATASETS)


def _scorer() -> Sequence[str]:
    from fewshot.evaluation import SCORERS

    return SCORERS


def _index_kind() -> Sequence[str]:
    from fewshot.retrieve import INDEX_KINDS

    return INDEX_KINDS


def _on_conflict() -> Sequence[str]:
    from fewshot.service.ingest import ON_CONFLICT

    return ON_CONFLICT


def _edit_mode() -> Sequence[str]:
    from fewshot.service.skills import EDIT_MODES

    return EDIT_MODES


def _approx() -> Sequence[str]:
    from fewshot.annotate import APPROX_METHODS

    return APPROX_METHODS


def _final() -> Sequence[str]:
    from fewshot.annotate import FINAL_RULES

    return FINAL_RULES


def _confidence() -> Sequence[str]:
    from fewshot.service.selection import CONFIDENCES

    return CONFIDENCES


#: Marker kind -> the names to list, read when help is shown.
CHOICES: dict[str, Callable[[], Sequence[str]]] = {
    "selection": _selection,
    "approx": _approx,
    "final": _final,
    "retriever": _retriever,
    "template": _template,
    "predictor": _predictor,
    "predictor_no_lm": _predictor_no_lm,
    "plus": _plus,
    "tokenizer": _tokenizer,
    "judge": _judge,
    "status": _status,
    "lm": _lm,
    "export_format": _export_format,
    "write_format": _write_format,
    "label_format": _label_format,
    "dataset": _dataset,
    "scorer": _scorer,
    "index_kind": _index_kind,
    "on_conflict": _on_conflict,
    "edit_mode": _edit_mode,
    "confidence": _confidence,
}


def choices(kind: str) -> list[str]:
    """The names currently registered for ``kind`` (a key of `CHOICES`)."""
    return list(CHOICES[kind]())


def render(text: str | None, *, rich: bool = True) -> str | None:
    """``text`` with its ``{choices:<kind>}`` markers filled in, escaped for rich markup if ``rich``."""
    if text is None:
        return None
    text = _MARKER.sub(lambda m: ", ".join(choices(m.group(1))), text)
    return escape(text) if rich else text


def _render_command(cmd: TyperCommand | TyperGroup, *, rich: bool, with_params: bool) -> None:
    """Render ``cmd``'s help, short help, epilog (and options' help) from the originals, kept aside
    on first use so that every later rendering starts from them again."""
    raw: dict[str, Any] = cmd.__dict__.setdefault(
        "_fewshot_raw_help",
        {
            "help": cmd.help,
            "short_help": cmd.short_help,
            "epilog": cmd.epilog,
            "params": {p.name: getattr(p, "help", None) for p in cmd.params},
        },
    )
    cmd.help = render(raw["help"], rich=rich)
    cmd.short_help = render(raw["short_help"], rich=rich)
    cmd.epilog = render(raw["epilog"], rich=rich)
    if with_params:
        for p in cmd.params:
            if hasattr(p, "help"):
                p.help = render(raw["params"].get(p.name), rich=rich)


class HelpMixin:
    """Renders help texts (`render`) right before click/typer formats them."""

    rich_markup_mode: Any

    def format_help(self, ctx: Any, formatter: Any) -> None:
        rich = getattr(self, "rich_markup_mode", None) == "rich"
        _render_command(self, rich=rich, with_params=True)  # type: ignore[arg-type]
        for sub in getattr(self, "commands", {}).values():  # a group lists its commands' short help
            _render_command(sub, rich=rich, with_params=False)
        super().format_help(ctx, formatter)  # type: ignore[misc]


class FewshotCommand(HelpMixin, TyperCommand):
    """A command whose help names the registered choices."""


class HelpGroup(HelpMixin, TyperGroup):
    """A command group whose help names the registered choices."""


class FewshotTyper(typer.Typer):
    """`typer.Typer` whose groups and commands render their help with `render` (rich markup on,
    square brackets kept), and that shows its help when called without arguments."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", HelpGroup)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(**kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """`typer.Typer.command`, with `FewshotCommand` as the default class."""
        return super().command(name, cls=cls or FewshotCommand, **kwargs)
