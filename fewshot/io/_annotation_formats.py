"""Annotation-tool formats: Label Studio tasks and Argilla records, out and back in.

Export writes the items to annotate with the pool's fields; import reads the labels people gave.

* Label Studio: a JSON list of tasks ``{"data": {"text": ..., "fewshot_id": ..., <fields>}}``;
  its export adds ``"annotations": [{"result": [{"type": "choices", "value": {"choices": [..]}}],
  "was_cancelled": false}]``. Choices, labels, taxonomy and textarea results are read.
* Argilla (2.x record dicts): ``{"id": ..., "fields": {"text": ...}, "metadata": {...}}``; labels come
  back as ``"responses": {"label": [{"value": ..., "user_id": ...}]}`` (or a list of
  ``{"question_name", "value"}``, or a flat ``"label.response"`` key).
* JSONL / CSV: one record per item with an id field and a label field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import IngestError
from ._readers import iter_records

__all__ = ["LabelRecord", "read_labels", "to_labelstudio_task", "to_argilla_record", "LABEL_FORMATS"]

LABEL_FORMATS = ("jsonl", "csv", "labelstudio", "argilla")


@dataclass(frozen=True)
class LabelRecord:
    """One label read from a file. ``label`` is None when the item was left empty; ``labels``
    holds every distinct label given to it (several annotators may disagree)."""

    line: int
    external_id: str
    labels: tuple[str, ...]

    @property
    def label(self) -> str | None:
        return self.labels[0] if len(self.labels) == 1 else None


def to_labelstudio_task(external_id: str, text: str, fields: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in fields.items() if isinstance(v, (str, int, float, bool))}
    data.update({"text": text, "fewshot_id": external_id})
    return {"data": data}


def to_argilla_record(external_id: str, text: str, fields: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in fields.items() if isinstance(v, (str, int, float, bool)) and k != "text"}
    return {"id": external_id, "fields": {"text": text}, "metadata": metadata}


def read_labels(
    path: str | Path, fmt: str | None = None, *, id_field: str = "id", label_field: str = "label"
) -> list[LabelRecord]:
    """Read labels from a JSONL/CSV file or a Label Studio / Argilla export."""
    path = Path(path)
    if fmt is None:
        fmt = _sniff(path)
    if fmt not in LABEL_FORMATS:
        raise IngestError(f"unknown label format {fmt!r}; expected one of {', '.join(LABEL_FORMATS)}", path=str(path))
    if fmt in ("jsonl", "csv"):
        return list(_flat(path, fmt, id_field, label_field))
    items = _json_items(path)
    parse = _labelstudio if fmt == "labelstudio" else _argilla
    return [parse(item, i, str(path), label_field) for i, item in enumerate(items, start=1)]


def _sniff(path: Path) -> str:
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() == ".json":
        items = _json_items(path)
        first = items[0] if items else {}
        if isinstance(first, dict) and "data" in first:
            return "labelstudio"
        if isinstance(first, dict) and ("responses" in first or "fields" in first):
            return "argilla"
        raise IngestError(
            "JSON file is neither a Label Studio export (tasks with 'data') nor Argilla records "
            "(with 'responses'); name the format",
            path=str(path),
        )
    return "jsonl"


def _json_items(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise IngestError("file not found", path=str(path)) from None
    except UnicodeDecodeError:
        raise IngestError("not valid UTF-8", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path=str(path), line=exc.lineno
        ) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise IngestError("expected a JSON list of tasks/records", path=str(path))
    if not data:
        raise IngestError("file is empty (no records)", path=str(path))
    return data


def _flat(path: Path, fmt: str, id_field: str, label_field: str) -> Iterator[LabelRecord]:
    for line, rec in iter_records(path, fmt):
        if id_field not in rec or rec[id_field] in (None, ""):
            raise IngestError("missing id", path=str(path), line=line, field=id_field)
        value = rec.get(label_field)
        if isinstance(value, (dict, list)):
            raise IngestError(
                f"label must be a string or a number, got {type(value).__name__}",
                path=str(path),
                line=line,
                field=label_field,
            )
        labels = () if value is None or str(value).strip() == "" else (str(value).strip(),)
        yield LabelRecord(line=line, external_id=str(rec[id_field]), labels=labels)


def _distinct(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).strip() for v in values if v is not None and str(v).strip()))


def _labelstudio(task: Any, n: int, path: str, _label_field: str) -> LabelRecord:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise IngestError("task has no 'data' object", path=path, line=n)
    data = task["data"]
    ext_id = data.get("fewshot_id", data.get("id"))
    if ext_id is None:
        raise IngestError(
            "task data has no 'fewshot_id' (export it from fewshot) or 'id'", path=path, line=n, field="data.fewshot_id"
        )
    values: list[Any] = []
    for ann in task.get("annotations") or task.get("completions") or []:
        if not isinstance(ann, dict) or ann.get("was_cancelled"):
            continue
        for res in ann.get("result") or []:
            value = res.get("value", {}) if isinstance(res, dict) else {}
            for key in ("choices", "labels", "taxonomy", "text", "rating"):
                got = value.get(key)
                if got is None:
                    continue
                if isinstance(got, list):
                    values.extend("/".join(map(str, g)) if isinstance(g, list) else g for g in got)
                else:
                    values.append(got)
    return LabelRecord(line=n, external_id=str(ext_id), labels=_distinct(values))


def _argilla(record: Any, n: int, path: str, label_field: str) -> LabelRecord:
    if not isinstance(record, dict):
        raise IngestError("record is not an object", path=path, line=n)
    ext_id = record.get("id", record.get("external_id"))
    if ext_id is None:
        raise IngestError("record has no 'id'", path=path, line=n, field="id")
    values: list[Any] = []
    responses = record.get("responses")
    if isinstance(responses, dict):
        answers = responses.get(label_field) or []
        values.extend(a.get("value") if isinstance(a, dict) else a for a in answers)
    elif isinstance(responses, list):
        for r in responses:
            if (
                isinstance(r, dict)
                and r.get("question_name", label_field) == label_field
                and r.get("status") != "discarded"
            ):
                values.append(r.get("value"))
    for key in (f"{label_field}.response", f"{label_field}.responses"):
        flat = record.get(key)
        if flat is not None:
            values.extend(flat if isinstance(flat, list) else [flat])
    return LabelRecord(line=n, external_id=str(ext_id), labels=_distinct(values))
