"""Field mapping: which fields of a record give the id, the text, the label and the skills."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import IngestError, InvalidInputError
from ..hashing import content_hash
from ..templating import DEFAULT_MAX_RENDERED_CHARS, compile_template, render_template
from ..templating import template_fields as _fields_of

__all__ = ["FieldMapping", "MappedRecord"]

_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class MappedRecord:
    """One input record after mapping: what the store keeps of it."""

    external_id: str
    text: str
    fields: dict[str, Any]
    label: str | None
    skills: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldMapping:
    """How to read an item from a record.

    ``template`` (the safe template language of :mod:`fewshot.templating`, e.g.
    ``"{premise}\\nquestion: {hypothesis}"``: named fields only, format specs limited to
    ``[[fill]align][width][.precision]`` up to 200) renders multi-field items; otherwise ``text_field`` (default ``"text"``) is the text. Without
    ``id_field`` the record's ``"id"`` is used when present, else a hash of the text, so
    re-ingesting the same file is idempotent either way.
    """

    id_field: str | None = None
    text_field: str | None = None
    template: str | None = None
    label_field: str | None = None
    skills_field: str | None = None

    def __post_init__(self) -> None:
        if self.template is not None and self.text_field is not None:
            raise IngestError("give either a text field or a template, not both")
        if self.template is not None:
            try:
                parts = compile_template(self.template, where=f"template {self.template!r}")
            except InvalidInputError as exc:
                raise IngestError(str(exc)) from None
            if not _fields_of(parts):
                raise IngestError(f"template {self.template!r} references no field")
            object.__setattr__(self, "_parts", parts)
            object.__setattr__(self, "_fields", _fields_of(parts))

    @property
    def template_fields(self) -> list[str]:
        if self.template is None:
            return [self.text_field or "text"]
        return list(self._fields)  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and not k.startswith("_")}

    # -----------------------------------------------------------------------------------------
    def apply(
        self,
        record: dict[str, Any],
        *,
        path: str | None = None,
        line: int | None = None,
        max_chars: int = DEFAULT_MAX_RENDERED_CHARS,
    ) -> MappedRecord:
        """Map one record; raises :class:`IngestError` naming the file, line and field.

        The item's text (rendered or read) is at most ``max_chars`` characters.
        """

        def fail(msg: str, fld: str | None) -> IngestError:
            return IngestError(msg, path=path, line=line, field=fld)

        if self.template is not None:
            values = {}
            names: list[str] = self._fields  # type: ignore[attr-defined]
            for base in names:
                if base not in record or record[base] is None:
                    raise fail("missing field required by the template", base)
                if not isinstance(record[base], _SCALARS):
                    raise fail(f"expected text, got {type(record[base]).__name__}", base)
                values[base] = record[base]
            try:
                text = render_template(
                    self._parts,  # type: ignore[attr-defined]
                    values.__getitem__,
                    max_chars=max_chars,
                    where="template",
                )
            except InvalidInputError as exc:
                raise fail(str(exc), names[0] if len(names) == 1 else None) from None
        else:
            name = self.text_field or "text"
            if name not in record or record[name] is None:
                raise fail("missing text field (set --text-field or --template)", name)
            value = record[name]
            if not isinstance(value, str):
                raise fail(f"expected a string, got {type(value).__name__} {_short(value)}", name)
            if len(value) > max_chars:
                raise fail(f"text has {len(value):,} characters, above the limit of {max_chars:,}", name)
            text = value
        if not text.strip():
            raise fail("text is empty", self.text_field or "text" if self.template is None else None)

        ext_id = self._external_id(record, text, fail)
        label = self._label(record, fail)
        skills = self._skills(record, fail)
        return MappedRecord(external_id=ext_id, text=text, fields=_jsonable(record), label=label, skills=skills)

    def _external_id(self, record: dict[str, Any], text: str, fail) -> str:
        name = self.id_field or ("id" if "id" in record else None)
        if name is None:
            return "h:" + content_hash(text)[:16]
        if name not in record or record[name] is None or record[name] == "":
            raise fail("missing id", name)
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise fail(f"id must be a string or an integer, got {type(value).__name__} {_short(value)}", name)
        return str(value)

    def _label(self, record: dict[str, Any], fail) -> str | None:
        if self.label_field is None:
            return None
        value = record.get(self.label_field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # unlabeled item
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise fail(
                f"label must be a string or a number, got {type(value).__name__} {_short(value)}", self.label_field
            )
        return str(value)

    def _skills(self, record: dict[str, Any], fail) -> list[str]:
        if self.skills_field is None:
            return []
        value = record.get(self.skills_field)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise fail("skills look like a JSON list but do not parse", self.skills_field) from None
            else:
                value = [s for s in (p.strip() for p in value.split(";" if ";" in value else ",")) if s]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise fail(f"skills must be a list of strings, got {_short(value)}", self.skills_field)
        return list(dict.fromkeys(s.strip() for s in value if s.strip()))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """Original fields as JSON-safe values (Parquet may give dates, bytes, numpy scalars)."""
    try:
        json.dumps(record)
        return dict(record)
    except (TypeError, ValueError):
        return json.loads(json.dumps(record, default=str))
