"""`PromptTemplate`: how an instruction, each demonstration and the query are rendered.

Engine: ``str.format``-style placeholders (``{text}``, ``{label}``, ``{premise}``), parsed
once with `string.Formatter.parse` and filled by plain lookups. Chosen over Jinja2 because
templates are short strings that users (and later the REST API) supply: a placeholder can
only name a field -- attribute access, indexing and conversions (``{x.__class__}``,
``{x[0]}``, ``{x!r}``) are rejected when the template is built, and a format spec is only
``[[fill]align][width][.precision]`` with width and precision up to 200 (the rules of
:mod:`fewshot.templating`, the same as for ingest templates) -- so rendering cannot run
code or reach object internals, with no sandbox to configure; the set of fields a template
needs is known up front, so a missing field is reported by name before anything is
rendered; and the syntax is the one the task descriptions already use. Things Jinja2 would
do with loops (a list of answer choices) are done by per-field ``formatters``.
Literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.templating import DEFAULT_MAX_RENDERED_CHARS, check_rendered_length, compile_template, format_field

__all__ = ["PromptTemplate", "ItemLike", "item_fields"]

#: Anything a template can read fields from: an `Example`, a `Demo`, a mapping or a str
#: (a bare str is the ``text`` field).
ItemLike = Any
Verbalizer = Mapping[Hashable, str] | Callable[[Any], str]


def _compile(source: str, where: str) -> tuple[tuple[str, str | None, str], ...]:
    """Split a template into (literal, field or None, format_spec) triples, checking fields.

    The rules are those of :mod:`fewshot.templating`, shared with ingest templates.
    """
    return compile_template(source, where=f"template {where}")


def item_fields(item: ItemLike) -> Callable[[str], Any]:
    """A lookup function ``name -> value`` over an item (raises KeyError when absent)."""
    if isinstance(item, str):
        return {"text": item}.__getitem__
    inner = getattr(item, "example", None)  # a retrieve.Demo
    if inner is not None and hasattr(inner, "get"):
        item = inner
    if isinstance(item, Mapping):
        return item.__getitem__
    getter = getattr(item, "get", None)
    if callable(getter):  # a retrieve.Example: core attributes, then fields
        return getter
    raise InvalidInputError(f"cannot read template fields from a {type(item).__name__}")


def item_id(item: ItemLike) -> Any:
    """The item's id, or None."""
    try:
        return item_fields(item)("id")
    except KeyError:
        return None


@dataclass(frozen=True)
class PromptTemplate:
    """Rendering rules for one task format.

    A demonstration is ``input`` followed by ``output``; the query is ``input`` alone, so
    the model continues with the answer. For chat models the ``input`` becomes a user turn
    and the ``output`` an assistant turn.

    Parameters
    ----------
    name : str
    input : str
        E.g. ``"Review: {text}\\nSentiment:"``.
    output : str
        E.g. ``" {label}"``. Must not be needed to render the query.
    instruction : str
        Plain text put first (the system message in chat form); may be empty.
    separator : str
        Between the instruction, the demonstrations and the query.
    verbalizer : mapping or callable, optional
        Turns ``label`` values into words (``{0: "terrible", ...}``). A label absent from
        a mapping is an error.
    formatters : mapping of field name -> callable(value) -> str
        Per-field rendering (e.g. a list of choices into lettered lines).
    truncate_field : str
        The field shortened when a demonstration exceeds its token cap.
    max_chars : int
        Cap on the rendered ``input`` or ``output`` of one item (`InvalidInputError` above it).

    A field that is absent, or None, raises `InvalidInputError` naming the field.
    """

    name: str
    input: str
    output: str
    instruction: str = ""
    separator: str = "\n\n"
    verbalizer: Verbalizer | None = None
    formatters: Mapping[str, Callable[[Any], str]] = field(default_factory=dict)
    truncate_field: str = "text"
    max_chars: int = DEFAULT_MAX_RENDERED_CHARS

    def __post_init__(self) -> None:
        compiled = {
            "input": _compile(self.input, f"{self.name!r} input"),
            "output": _compile(self.output, f"{self.name!r} output"),
        }
        object.__setattr__(self, "_compiled", compiled)

    @property
    def input_fields(self) -> frozenset[str]:
        """Fields the ``input`` part (and hence the query) needs."""
        return frozenset(n for _, n, _ in self._compiled["input"] if n)  # type: ignore[attr-defined]

    @property
    def output_fields(self) -> frozenset[str]:
        """Fields the ``output`` part needs (demonstrations only)."""
        return frozenset(n for _, n, _ in self._compiled["output"] if n)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ rendering
    def _value(
        self, name: str, spec: str, lookup: Callable[[str], Any], item: ItemLike, overrides: Mapping[str, Any] | None
    ) -> str:
        if overrides and name in overrides:
            value = overrides[name]
        else:
            try:
                value = lookup(name)
            except KeyError:
                value = None
        if value is None:
            raise InvalidInputError(
                f"template {self.name!r} needs field {name!r}, which item {item_id(item)!r} does not have"
            )
        if name in self.formatters:
            return self.formatters[name](value)
        if name == "label" and self.verbalizer is not None:
            return self._verbalize(value)
        return format_field(value, spec, name=name, where=f"template {self.name!r}")

    def _verbalize(self, label: Any) -> str:
        if callable(self.verbalizer):
            return self.verbalizer(label)
        assert self.verbalizer is not None
        try:
            return self.verbalizer[label]
        except (KeyError, TypeError):
            raise InvalidInputError(
                f"template {self.name!r}: label {label!r} is not in the verbalizer "
                f"({sorted(map(repr, self.verbalizer))})"
            ) from None

    def _render(self, part: str, item: ItemLike, overrides: Mapping[str, Any] | None = None) -> str:
        lookup = item_fields(item)
        out = []
        for literal, name, spec in self._compiled[part]:  # type: ignore[attr-defined]
            out.append(literal)
            if name is not None:
                out.append(self._value(name, spec, lookup, item, overrides))
        return check_rendered_length("".join(out), self.max_chars, where=f"template {self.name!r} {part}")

    def render_input(self, item: ItemLike, *, overrides: Mapping[str, Any] | None = None) -> str:
        """The ``input`` part for ``item``; ``overrides`` replace field values (truncation)."""
        return self._render("input", item, overrides)

    def render_output(self, item: ItemLike) -> str:
        """The ``output`` part (the answer) for a demonstration."""
        return self._render("output", item)

    def render_demo(self, item: ItemLike, *, overrides: Mapping[str, Any] | None = None) -> str:
        """A whole demonstration: input then output."""
        return self.render_input(item, overrides=overrides) + self.render_output(item)

    def join(self, demos: list[str], query: str) -> str:
        """Assemble the prompt: instruction, demonstrations, query, separated."""
        blocks = ([self.instruction] if self.instruction else []) + demos + [query]
        return self.separator.join(blocks)
