"""Annotation-tool formats, back in: the labels people gave, from any export a tool produced (the
writing side is `fewshot.io._annotation_export`).

Export writes the items to annotate with an allow-list of the pool's fields (gold columns never
leave by default), a labeling config / dataset settings, and optional pre-annotations; import reads
the labels people gave, whatever export the tool produced (the format is detected by content).

* Label Studio JSON: tasks ``{"data": {...}, "annotations": [{"result": [...], "was_cancelled": ..,
  "ground_truth": ..}]}``. Only choice-like results (choices, labels, taxonomy, rating) count,
  unless ``control`` names the control (``from_name``) to read: a TextArea comment next to the
  Choices is never a label. One vote per annotation; cancelled annotations are dropped.
* Label Studio JSON-MIN / CSV: one flat row per annotation (``fewshot_id``, the control's name as a
  key, ``annotation_id`` None for a task nobody annotated).
* Argilla 2.x nested records (``{"id", "fields", "responses": {question: [{"value", "user_id"}]}}``)
  and flat records (``"<question>.responses"`` with ``".responses.status"``); discarded responses
  are dropped.
* JSONL / CSV: one record per item with an id field and a label field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import IngestError
from ._annotation_export import GOLD_FIELDS
from ._readers import iter_records

__all__ = ["LabelRecord", "read_labels", "LABEL_FORMATS", "GOLD_FIELDS"]

LABEL_FORMATS = ("jsonl", "csv", "labelstudio", "argilla")
#: Item fields never sent to annotators unless named in an allow-list.
#: Label Studio result types that carry a label (TextArea comments do not, unless named).
_CHOICE_TYPES = ("choices", "labels", "taxonomy", "rating")
#: Keys Label Studio's JSON-MIN/CSV converter adds next to the task data.
_LS_MIN_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"}


@dataclass(frozen=True)
class LabelRecord:
    """One item read from a file. ``labels`` holds every distinct label given to it, ``votes``
    one label per annotator (repeats kept; empty for plain files: ``labels`` then counts once),
    ``ground_truth`` an annotation marked as ground truth, ``skipped`` why an item without a label
    carries none (``unannotated``, ``cancelled``, ``discarded``; None for a plain empty label),
    ``dropped`` the cancelled/discarded responses left out, ``where`` the item's place in the file
    (a task position and id for JSON exports; ``line N`` when empty)."""

    line: int
    external_id: str
    labels: tuple[str, ...]
    votes: tuple[str, ...] = ()
    ground_truth: str | None = None
    skipped: str | None = None
    dropped: int = 0
    where: str = ""

    @property
    def label(self) -> str | None:
        return self.labels[0] if len(self.labels) == 1 else None

    @property
    def location(self) -> str:
        return self.where or f"line {self.line}"

    @property
    def all_votes(self) -> tuple[str, ...]:
        return self.votes or self.labels


def read_labels(
    path: str | Path,
    fmt: str | None = None,
    *,
    id_field: str = "id",
    label_field: str = "label",
    control: str | None = None,
) -> list[LabelRecord]:
    """Read labels from a JSONL/CSV file or a Label Studio (JSON, JSON-MIN, CSV) / Argilla (nested,
    flat) export; ``fmt`` None: detected by content. ``control`` names the Label Studio control /
    Argilla question to read (default: any choice control; the ``label_field`` question)."""
    path = Path(path)
    if fmt is None:
        fmt = _sniff(path)
    if fmt not in LABEL_FORMATS:
        raise IngestError(f"unknown label format {fmt!r}; expected one of {', '.join(LABEL_FORMATS)}", path=str(path))
    if fmt in ("jsonl", "csv"):
        return list(_flat(path, fmt, id_field, label_field))
    if fmt == "labelstudio" and path.suffix.lower() == ".csv":
        rows: list[Any] = [rec for _line, rec in iter_records(path, "csv")]
        if not rows:
            raise IngestError("file is empty (no records)", path=str(path))
    else:
        rows = _json_items(path)
    if fmt == "labelstudio":
        return _labelstudio_all(rows, str(path), control, label_field)
    return _argilla_all(rows, str(path), control, label_field)


def _sniff(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError):
            return "csv"
        return "labelstudio" if "fewshot_id" in header else "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix != ".json":
        try:
            with path.open("rb") as fh:
                head = fh.read(64).lstrip()
        except OSError:
            return "jsonl"
        if not head.startswith(b"["):
            return "jsonl"
    items = _json_items(path)
    first = items[0] if items else {}
    if isinstance(first, dict):
        if isinstance(first.get("data"), dict):
            return "labelstudio"
        if "responses" in first or "fields" in first or any(str(k).endswith(".responses") for k in first):
            return "argilla"
        if "fewshot_id" in first or "annotation_id" in first:
            return "labelstudio"
    raise IngestError(
        "JSON file is neither a Label Studio export (JSON tasks with 'data', or JSON-MIN rows with "
        "'fewshot_id') nor Argilla records (with 'fields' or 'responses'); name the format",
        path=str(path),
    )


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


def _clean(values: Iterable[Any]) -> list[str]:
    return [str(v).strip() for v in values if v is not None and not isinstance(v, (dict, list)) and str(v).strip()]


def _record(n: int, ext_id: Any, votes: list[str], **kw: Any) -> LabelRecord:
    return LabelRecord(line=n, external_id=str(ext_id), labels=tuple(dict.fromkeys(votes)), votes=tuple(votes), **kw)


def _where(n: int, kind: str, own_id: Any) -> str:
    return f"{kind} {n}" + ("" if own_id is None else f" (id {own_id})")


# ---------------------------------------------------------------- Label Studio
def _labelstudio_all(rows: list[Any], path: str, control: str | None, label_field: str) -> list[LabelRecord]:
    out = []
    for n, task in enumerate(rows, start=1):
        if isinstance(task, dict) and isinstance(task.get("data"), dict):
            out.append(_labelstudio_task(task, n, path, control))
        else:
            out.append(_labelstudio_min(task, n, path, control or label_field, named=control is not None))
    return out


def _result_values(res: Any, control: str | None) -> list[Any]:
    if not isinstance(res, dict):
        return []
    raw = res.get("value")
    value: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind = str(res.get("type") or "").lower()
    if control is not None:
        if res.get("from_name") != control:
            return []
        keys: Sequence[str] = (*_CHOICE_TYPES, "text")
    else:
        if kind and kind not in _CHOICE_TYPES:
            return []
        keys = _CHOICE_TYPES
    got: list[Any] = []
    for key in keys:
        v = value.get(key)
        if v is None:
            continue
        if isinstance(v, list):
            got.extend("/".join(map(str, g)) if isinstance(g, list) else g for g in v)
        else:
            got.append(v)
    return got


def _labelstudio_task(task: dict[str, Any], n: int, path: str, control: str | None) -> LabelRecord:
    data = task["data"]
    where = _where(n, "task", task.get("id"))
    ext_id = data.get("fewshot_id", data.get("id"))
    if ext_id is None:
        raise IngestError(
            f"{where}: task data has no 'fewshot_id' (export it from fewshot) or 'id'",
            path=path,
            field="data.fewshot_id",
        )
    annotations = task.get("annotations") or task.get("completions") or []
    votes: list[str] = []
    ground_truth = None
    cancelled = 0
    for ann in annotations:
        if not isinstance(ann, dict):
            continue
        if ann.get("was_cancelled") or ann.get("skipped"):
            cancelled += 1
            continue
        got = list(dict.fromkeys(_clean(v for res in ann.get("result") or [] for v in _result_values(res, control))))
        votes.extend(got)
        if ann.get("ground_truth") and len(got) == 1:
            ground_truth = got[0]
    skipped = None
    if not votes:
        skipped = "cancelled" if cancelled and cancelled == len(annotations) else "unannotated"
    return _record(n, ext_id, votes, ground_truth=ground_truth, skipped=skipped, dropped=cancelled, where=where)


def _labelstudio_min(row: Any, n: int, path: str, key: str, *, named: bool) -> LabelRecord:
    if not isinstance(row, dict):
        raise IngestError(f"task {n}: not an object", path=path)
    where = _where(n, "task", row.get("id"))
    ext_id = row.get("fewshot_id")
    if ext_id in (None, ""):
        raise IngestError(f"{where}: no 'fewshot_id' (export it from fewshot)", path=path, field="fewshot_id")
    if row.get("annotation_id") in (None, "") and key not in row:
        return _record(n, ext_id, [], skipped="unannotated", where=where)
    if key not in row and not named:
        candidates = sorted(k for k in row if k not in _LS_MIN_META and k not in ("fewshot_id", "text"))
        raise IngestError(
            f"{where}: no {key!r} column; name the Choices control with --control (columns: {', '.join(candidates)})",
            path=path,
        )
    value = row.get(key)
    if isinstance(value, str) and value.startswith(("[", "{")):  # CSV keeps lists/dicts as JSON
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if isinstance(value, dict):
        value = next((value[k] for k in _CHOICE_TYPES if k in value), None)
    votes = list(dict.fromkeys(_clean(value if isinstance(value, list) else [value])))
    return _record(n, ext_id, votes, skipped=None if votes else "unannotated", where=where)


# ---------------------------------------------------------------- Argilla
def _questions(record: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    responses = record.get("responses")
    if isinstance(responses, dict):
        names.update(str(k) for k, v in responses.items() if v)
    elif isinstance(responses, list):
        names.update(str(r["question_name"]) for r in responses if isinstance(r, dict) and r.get("question_name"))
    names.update(str(k)[: -len(".responses")] for k, v in record.items() if str(k).endswith(".responses") and v)
    return names


def _argilla_all(rows: list[Any], path: str, control: str | None, label_field: str) -> list[LabelRecord]:
    question = control or label_field
    if control is None:
        seen = set().union(*(_questions(r) for r in rows if isinstance(r, dict)))
        if seen and question not in seen:
            if len(seen) > 1:
                raise IngestError(
                    f"no question {question!r} in the records; name one with --control ({', '.join(sorted(seen))})",
                    path=path,
                )
            question = next(iter(seen))
    return [_argilla(r, n, path, question) for n, r in enumerate(rows, start=1)]


def _argilla(record: Any, n: int, path: str, question: str) -> LabelRecord:
    if not isinstance(record, dict):
        raise IngestError(f"record {n}: not an object", path=path)
    ext_id = record.get("id", record.get("external_id"))
    where = _where(n, "record", ext_id)
    if ext_id is None:
        raise IngestError(f"record {n}: no 'id'", path=path, field="id")
    answers: list[tuple[Any, Any]] = []  # (value, status)
    responses = record.get("responses")
    if isinstance(responses, dict):
        for a in responses.get(question) or []:
            answers.append((a.get("value"), a.get("status")) if isinstance(a, dict) else (a, None))
    elif isinstance(responses, list):
        for r in responses:
            if isinstance(r, dict) and r.get("question_name", question) == question:
                answers.append((r.get("value"), r.get("status")))
    flat = record.get(f"{question}.responses")
    if flat is not None:
        values = flat if isinstance(flat, list) else [flat]
        status = record.get(f"{question}.responses.status")
        statuses = status if isinstance(status, list) and len(status) == len(values) else [None] * len(values)
        answers.extend(zip(values, statuses, strict=True))
    single = record.get(f"{question}.response")
    if single is not None:
        answers.append((single, None))
    votes: list[str] = []
    dropped = 0
    for value, status in answers:
        if status == "discarded" or value is None:
            dropped += 1
            continue
        if status == "draft":
            continue
        votes.extend(_clean(value if isinstance(value, list) else [value]))
    skipped = None if votes else ("discarded" if dropped else "unannotated")
    return _record(n, ext_id, votes, skipped=skipped, dropped=dropped, where=where)
