"""Templates as data: a pool's own prompt template, stored as a plain JSON object.

A stored template is ``{"instruction", "input", "output", "separator", "verbalizer", "name"}``
(every key but ``input`` optional; ``verbalizer`` maps label values to words). Its placeholders
follow the safe rules of :mod:`fewshot.templating`: plain field names only, no attribute or
index access, no code, so a template is safe to take from an untrusted caller.

* `default_template` derives the template of a pool that has none from its fields and labels
  (``"Input: {text}\\nLabel:"`` / ``" {label}"``; never task-specific wording).
* `template_from_dict` / `template_to_dict` convert between the stored object and `PromptTemplate`.
* `parse_template` reads a template given as a `PromptTemplate`, a mapping, a registered name, a
  JSON object string, or (only when ``allow_files``) a JSON or YAML file.
* `check_template_fields` rejects a template naming a field the pool's items lack, by name.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.prompt._presets import TEMPLATES
from fewshot.prompt._template import PromptTemplate
from fewshot.templating import compile_template, template_fields

__all__ = [
    "DEFAULT_TEMPLATE_NAME",
    "TEMPLATE_KEYS",
    "default_template",
    "template_from_dict",
    "template_to_dict",
    "parse_template",
    "check_template_fields",
]

#: Name of the template derived for a pool that has none of its own.
DEFAULT_TEMPLATE_NAME = "default"
#: Keys a stored template may have.
TEMPLATE_KEYS = ("name", "instruction", "input", "output", "separator", "verbalizer")
_MAX_LABELS_IN_INSTRUCTION = 30
_MAX_TEXT = 20_000


def default_template(fields: Iterable[str] = (), labels: Collection[Any] = ()) -> PromptTemplate:
    """The template of a pool without its own: ``Input: {text}`` then ``Label: {label}``.

    ``labels`` (the pool's label values) name the choices in the instruction when there are a
    few; ``fields`` is accepted for symmetry (every item has ``text`` and ``label``).
    """
    del fields
    names = sorted({str(x) for x in labels if x is not None})
    instruction = ""
    if names and len(names) <= _MAX_LABELS_IN_INSTRUCTION:
        instruction = "Label each input as one of: " + ", ".join(names) + "."
    return PromptTemplate(
        name=DEFAULT_TEMPLATE_NAME, instruction=instruction, input="Input: {text}\nLabel:", output=" {label}"
    )


def _text(data: Mapping[str, Any], key: str, default: str | None) -> str:
    value = data.get(key)
    if value is None:  # absent or null: the default
        value = default
    if value is None:
        raise InvalidInputError(f"template: {key!r} is required")
    if not isinstance(value, str):
        raise InvalidInputError(f"template: {key!r} must be a string, got {type(value).__name__}")
    if len(value) > _MAX_TEXT:
        raise InvalidInputError(f"template: {key!r} is longer than {_MAX_TEXT:,} characters")
    return value


def template_from_dict(data: Mapping[str, Any], *, name: str = "pool") -> PromptTemplate:
    """A `PromptTemplate` from its stored object; `InvalidInputError` for an unknown key or bad value."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"template must be an object with keys {', '.join(TEMPLATE_KEYS)}")
    unknown = sorted(set(map(str, data)) - set(TEMPLATE_KEYS))
    if unknown:
        raise InvalidInputError(
            f"template: unknown key(s) {', '.join(map(repr, unknown))} (expected {', '.join(TEMPLATE_KEYS)})"
        )
    verbalizer = data.get("verbalizer")
    if verbalizer is not None:
        if not isinstance(verbalizer, Mapping) or not all(
            isinstance(v, str) and isinstance(k, (str, int)) and not isinstance(k, bool) for k, v in verbalizer.items()
        ):
            raise InvalidInputError("template: 'verbalizer' must map label values to strings")
        # stored labels are strings: accept both the given key and its text
        verbalizer = {**{str(k): v for k, v in verbalizer.items()}, **dict(verbalizer)}
    return PromptTemplate(
        name=_text(data, "name", name) or name,
        instruction=_text(data, "instruction", ""),
        input=_text(data, "input", None),
        output=_text(data, "output", " {label}"),
        separator=_text(data, "separator", "\n\n"),
        verbalizer=verbalizer or None,
    )


def template_to_dict(template: PromptTemplate) -> dict[str, Any]:
    """The stored object of ``template``; `InvalidInputError` when it cannot be stored as data
    (a callable verbalizer, per-field formatters)."""
    if template.formatters:
        raise InvalidInputError(f"template {template.name!r} has per-field formatters: it cannot be stored as data")
    verbalizer = template.verbalizer
    if verbalizer is not None and not isinstance(verbalizer, Mapping):
        raise InvalidInputError(f"template {template.name!r} has a callable verbalizer: it cannot be stored as data")
    return {
        "name": template.name,
        "instruction": template.instruction,
        "input": template.input,
        "output": template.output,
        "separator": template.separator,
        "verbalizer": None if verbalizer is None else {str(k): v for k, v in verbalizer.items()},
    }


def _load_file(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read template file {str(path)!r}: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"template file {str(path)!r} is not valid JSON: {exc}") from None
    import yaml  # JSON is YAML too

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"template file {str(path)!r} is not valid YAML or JSON: {exc}") from None


def parse_template(spec: Any, *, allow_files: bool = False, name: str = "pool") -> PromptTemplate:
    """A `PromptTemplate` from ``spec``: a `PromptTemplate`, a mapping (the stored object), a
    registered name (`TEMPLATES`), a JSON object string, or -- only with ``allow_files`` (the CLI;
    never a server) -- the path of a JSON or YAML file holding the object."""
    if isinstance(spec, PromptTemplate):
        return spec
    if isinstance(spec, Mapping):
        return template_from_dict(spec, name=name)
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError("template must be a template name, an object or a file")
    text = spec.strip()
    if text in TEMPLATES:
        return TEMPLATES.get(text)
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return template_from_dict(data, name=name)
    if allow_files:
        path = Path(spec).expanduser()
        if path.is_file():
            return template_from_dict(_load_file(path), name=path.stem or name)
    where = ", a JSON/YAML file" if allow_files else ""
    raise InvalidInputError(
        f"unknown template {spec[:200]!r}: expected one of {', '.join(TEMPLATES.names())}{where} "
        "or a JSON object with keys input, output, instruction, separator, verbalizer"
    )


def check_template_fields(template: PromptTemplate, fields: Collection[str], *, where: str = "the pool") -> None:
    """`InvalidInputError` naming the first field ``template`` needs that is not in ``fields``."""
    used = template_fields(compile_template(template.input)) + template_fields(compile_template(template.output))
    needed = [name for name in dict.fromkeys(used) if name not in fields]
    if needed:
        what = f"field {needed[0]!r}" if len(needed) == 1 else "fields " + ", ".join(map(repr, needed))
        raise InvalidInputError(
            f"template {template.name!r} names {what}, which the items of {where} do not have "
            f"(fields: {', '.join(sorted(fields))})"
        )
