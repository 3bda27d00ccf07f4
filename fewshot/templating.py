"""The safe template language shared by ingest templates and prompt templates.

A template is text with ``{field}`` placeholders (``str.format`` syntax, ``{{``/``}}`` for
literal braces). What it may contain is deliberately small, because templates come from
untrusted callers (the REST API) and are rendered for every stored or prompted item:

* a placeholder names one field: a Python identifier. No attribute access (``{x.__class__}``),
  no indexing (``{x[0]}``), no positional fields (``{}``, ``{0}``), no conversions (``{x!r}``),
  no nested fields in a format spec (``{x:{w}}``);
* a format spec, when present, is ``[[fill]align][width][.precision][type]``: without a type (or
  ``s``) the value is rendered as text (``str(value)``), padded to ``width`` and cut to
  ``precision`` characters; a numeric type ``d``, ``f``, ``e``, ``g`` or ``%`` formats a number
  (``{score:.2f}``) and refuses any other value. Width and precision are at most
  `MAX_SPEC_WIDTH` (200); sign, ``#``, ``0``, grouping and other types are refused;
* the rendered text of one item is at most a cap of characters (`DEFAULT_MAX_RENDERED_CHARS`:
  100,000, or the ``FEWSHOT_MAX_RENDERED_CHARS`` environment variable; per call, the
  ``max_chars`` argument of ``FieldMapping.apply`` and of ``PromptTemplate``).

Violations raise `InvalidInputError` (the ingest side re-raises them as ``IngestError`` naming
the file, line and field).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable
from typing import Any

from fewshot.exceptions import InvalidInputError

__all__ = [
    "MAX_SPEC_WIDTH",
    "DEFAULT_MAX_RENDERED_CHARS",
    "TemplatePart",
    "compile_template",
    "template_fields",
    "format_field",
    "check_rendered_length",
    "render_template",
]


def _env_cap(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {raw!r}")
    return value


#: Largest width or precision a format spec may give.
MAX_SPEC_WIDTH = 200
#: Default cap on the rendered text of one item, in characters: 100,000, or the environment
#: variable ``FEWSHOT_MAX_RENDERED_CHARS`` (read once, at import; a server's workers inherit it).
DEFAULT_MAX_RENDERED_CHARS = _env_cap("FEWSHOT_MAX_RENDERED_CHARS", 100_000)

#: (literal text, field name or None, checked format spec or "")
TemplatePart = tuple[str, str | None, str]

_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>^]))?(?P<width>[1-9]\d*)?(?:\.(?P<precision>\d+))?(?P<type>[sdfeg%]?)", re.DOTALL
)
_NUMERIC_TYPES = frozenset("dfeg%")


def _check_spec(spec: str, name: str, where: str) -> str:
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise InvalidInputError(
            f"{where}: format spec {spec!r} of field {{{name}}} is not allowed "
            f"(only [[fill]align][width][.precision][type] with type s, d, f, e, g or %, "
            f"e.g. {{{name}:<20}}, {{{name}:.100}} or {{{name}:.2f}})"
        )
    for key in ("width", "precision"):
        value = match.group(key)
        if value is not None and int(value) > MAX_SPEC_WIDTH:
            raise InvalidInputError(
                f"{where}: {key} {int(value)} in format spec of field {{{name}}} is above the limit of {MAX_SPEC_WIDTH}"
            )
    return spec


def compile_template(source: str, *, where: str = "template") -> tuple[TemplatePart, ...]:
    """Parse and check ``source``; `InvalidInputError` (message starting with ``where``) if unsafe."""
    if not isinstance(source, str):
        raise InvalidInputError(f"{where}: must be a string")
    try:
        parsed = list(string.Formatter().parse(source))
    except ValueError as exc:
        raise InvalidInputError(f"{where}: {source!r} is malformed: {exc}") from None
    parts: list[TemplatePart] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None, ""))
            continue
        if not name.isidentifier():
            raise InvalidInputError(
                f"{where}: placeholder {{{name}}} must be a plain field name "
                "(no attribute access, indexing or positional fields)"
            )
        if conversion:
            raise InvalidInputError(f"{where}: conversions like !{conversion} are not allowed")
        if spec and ("{" in spec or "}" in spec):
            raise InvalidInputError(f"{where}: nested fields in format specs are not allowed")
        parts.append((literal, name, _check_spec(spec, name, where) if spec else ""))
    return tuple(parts)


def template_fields(parts: tuple[TemplatePart, ...]) -> list[str]:
    """Field names in order of first use."""
    return list(dict.fromkeys(name for _, name, _ in parts if name))


def format_field(value: Any, spec: str, *, name: str = "?", where: str = "template") -> str:
    """``value`` as text, with a spec already checked by `compile_template`.

    With a numeric type (``d f e g %``) the value must be a number; otherwise it is formatted as
    ``str(value)``.
    """
    if spec and spec[-1] in _NUMERIC_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"{where}: cannot format field {name!r} ({type(value).__name__}) with {spec!r}")
        try:
            return format(value, spec)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInputError(f"{where}: cannot format field {name!r} with {spec!r}: {exc}") from None
    text = value if isinstance(value, str) else str(value)
    if not spec:
        return text
    return format(text, spec)


def check_rendered_length(text: str, max_chars: int, *, where: str = "template") -> str:
    """``text`` unchanged, or `InvalidInputError` when it is longer than ``max_chars``."""
    if len(text) > max_chars:
        raise InvalidInputError(
            f"{where}: the rendered text has {len(text):,} characters, above the limit of {max_chars:,}"
        )
    return text


def render_template(
    parts: tuple[TemplatePart, ...],
    lookup: Callable[[str], Any],
    *,
    max_chars: int = DEFAULT_MAX_RENDERED_CHARS,
    where: str = "template",
) -> str:
    """Render compiled ``parts`` with ``lookup(name) -> value``; the length is checked as it grows."""
    out: list[str] = []
    size = 0
    for literal, name, spec in parts:
        piece = literal if name is None else literal + format_field(lookup(name), spec, name=name, where=where)
        size += len(piece)
        if size > max_chars:
            raise InvalidInputError(f"{where}: the rendered text is above the limit of {max_chars:,} characters")
        out.append(piece)
    return "".join(out)
