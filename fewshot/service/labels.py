"""Importing labels back from annotators: validated as a whole, applied all at once.

Every record is checked before anything is written. Unknown ids, empty labels, conflicting
labels (one item given two labels in the file, or by two annotators, or a label different from
the one already stored) are collected item by item into :class:`LabelImportReport.problems`.
With problems, nothing is applied and :class:`LabelImportError` carries the report, unless
``skip_invalid=True`` (apply the clean items, report the rest). Importing the same file twice
changes nothing the second time.

Several annotators of one item are resolved by ``resolve``: ``majority`` (the most frequent label;
a tie is a conflict), ``ground-truth`` (the annotation marked as ground truth; without one, they
must agree) or ``unanimous``. Resolved disagreements are listed in the report, not errors. Items
nobody annotated, and those whose every annotation was cancelled/discarded, are skipped and counted
(``report.skipped``), as are the cancelled/discarded responses of the others (``report.dropped``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.io import LabelRecord, read_labels
from fewshot.service.context import ServiceContext
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows

__all__ = ["LabelService", "LabelImportReport", "LabelImportError", "LabelProblem", "RESOLVE_MODES"]

#: How several annotators of one item are resolved.
RESOLVE_MODES = ("majority", "ground-truth", "unanimous")


@dataclass(frozen=True)
class LabelProblem:
    line: int
    external_id: str
    kind: str  # unknown_id | empty_label | conflicting_labels | conflicts_stored
    detail: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where or f'line {self.line}'}, id {self.external_id!r}: {self.detail}"


@dataclass
class LabelImportReport:
    pool: str
    read: int = 0
    applied: int = 0
    unchanged: int = 0
    problems: list[LabelProblem] = field(default_factory=list)
    resolve: str = "majority"
    #: items without a label, by reason: unannotated, cancelled, discarded
    skipped: dict[str, int] = field(default_factory=dict)
    #: cancelled/discarded responses left out of items that still have a label
    dropped: int = 0
    #: items whose annotators disagreed and were resolved: id, where, votes, label
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["problems"] = [p.__dict__ for p in self.problems]
        return d


class LabelImportError(InvalidInputError):
    def __init__(self, report: LabelImportReport) -> None:
        shown = "\n".join(f"  {p}" for p in report.problems[:20])
        more = f"\n  ... and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        super().__init__(
            f"{len(report.problems)} of {report.read} labels cannot be imported; nothing was applied "
            f"(use skip_invalid / --skip-invalid to apply the others):\n{shown}{more}"
        )
        self.report = report


def label_record(line: int, external_id: str, label: str | None) -> LabelRecord:
    """One label given in memory as the import reads it: stripped, empty -> no label."""
    text = "" if label is None else str(label).strip()
    return LabelRecord(line=line, external_id=str(external_id), labels=(text,) if text else ())


class LabelService:
    """Labels coming back from annotators (files or in memory), applied all or nothing."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def import_labels(
        self,
        pool: str,
        path: str | Path,
        *,
        fmt: str | None = None,
        id_field: str = "id",
        label_field: str = "label",
        control: str | None = None,
        resolve: str = "majority",
        overwrite: bool = False,
        skip_invalid: bool = False,
    ) -> LabelImportReport:
        """Read labels from JSONL/CSV or a Label Studio (JSON, JSON-MIN, CSV) / Argilla (nested,
        flat) export, detected by content, and apply them (see `apply`). ``control`` names the Label
        Studio control / Argilla question holding the label."""
        check_resolve(resolve)
        records = read_labels(path, fmt, id_field=id_field, label_field=label_field, control=control)
        return self.apply(pool, records, overwrite=overwrite, skip_invalid=skip_invalid, resolve=resolve)

    def apply(
        self,
        pool: str,
        labels: Sequence[LabelRecord] | Sequence[tuple[str, str | None]] | dict[str, str],
        *,
        overwrite: bool = False,
        skip_invalid: bool = False,
        resolve: str = "majority",
    ) -> LabelImportReport:
        """Apply labels given in memory: `LabelRecord` s, ``(external_id, label)`` pairs (numbered
        from 1 in problems; an id may repeat, e.g. two annotators) or ``{external_id: label}``.
        Labels are stripped; an empty or None label is reported as ``empty_label``.

        Every record is checked first; with problems nothing is applied (`LabelImportError`
        carries the report) unless ``skip_invalid``. Importing the same labels twice changes nothing.
        Several labels for one id are resolved by ``resolve`` (`RESOLVE_MODES`).
        """
        check_resolve(resolve)
        pairs: Iterable[LabelRecord | tuple[str, str | None]] = labels.items() if isinstance(labels, dict) else labels
        records = [
            r if isinstance(r, LabelRecord) else label_record(n, r[0], r[1]) for n, r in enumerate(pairs, start=1)
        ]
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            rows = example_rows.by_external_ids(s, pool_id=p.id, ids=[r.external_id for r in records])
            stored = {ext: (row.id, row.label) for ext, row in rows.items()}
            report, to_apply = plan_labels(pool, records, stored, overwrite=overwrite, resolve=resolve)
            if report.problems and not skip_invalid:
                raise LabelImportError(report)
            example_rows.set_labels(s, to_apply)
            report.applied = len(to_apply)
        self.ctx.changed()
        return report


def check_resolve(resolve: str) -> None:
    if resolve not in RESOLVE_MODES:
        raise InvalidInputError(f"resolve must be one of {', '.join(RESOLVE_MODES)}, got {resolve!r}")


def resolve_votes(votes: Sequence[str], ground_truth: str | None, resolve: str) -> tuple[str | None, str]:
    """The label several annotators' ``votes`` resolve to under ``resolve``, or None and why not."""
    counts = Counter(votes)
    if len(counts) == 1:
        return votes[0], ""
    if resolve == "ground-truth":
        if ground_truth is not None:
            return ground_truth, ""
        return None, "annotators disagree and no annotation is marked ground truth"
    if resolve == "majority":
        (top, n), (_, second) = counts.most_common(2)
        if n > second:
            return top, ""
        if ground_truth is not None and counts[ground_truth] == n:  # a tie broken by the ground truth
            return ground_truth, ""
        return None, "annotators disagree with no majority"
    return None, "annotators disagree (--resolve unanimous)"


def plan_labels(
    pool: str,
    records: Sequence[LabelRecord],
    stored: dict[str, tuple[int, str | None]],
    *,
    overwrite: bool = False,
    resolve: str = "majority",
) -> tuple[LabelImportReport, dict[int, str]]:
    """Check ``records`` against the ``stored`` ``{external_id: (example id, label)}``: the report
    (problems listed item by item) and the labels to apply by example id."""
    check_resolve(resolve)
    report = LabelImportReport(pool=pool, read=len(records), resolve=resolve)
    by_id: dict[str, list[LabelRecord]] = {}
    for rec in records:
        by_id.setdefault(rec.external_id, []).append(rec)

    to_apply: dict[int, str] = {}
    for ext_id, recs in by_id.items():
        first = recs[0]
        where = first.where
        votes = [v for r in recs for v in r.all_votes]
        labels = tuple(dict.fromkeys(votes))
        ground_truth = next((r.ground_truth for r in recs if r.ground_truth is not None), None)
        report.dropped += sum(r.dropped for r in recs) if labels else 0
        if not labels and any(r.skipped for r in recs):
            reason = next(r.skipped for r in recs if r.skipped)
            assert reason is not None
            report.skipped[reason] = report.skipped.get(reason, 0) + 1
            continue
        if ext_id not in stored:
            report.problems.append(
                LabelProblem(first.line, ext_id, "unknown_id", f"no item with this id in pool {pool!r}", where)
            )
            continue
        if not labels:
            report.problems.append(LabelProblem(first.line, ext_id, "empty_label", "the label is empty", where))
            continue
        label = labels[0]
        if len(labels) > 1:
            resolved, why = resolve_votes(votes, ground_truth, resolve)
            places = ", ".join(r.where for r in recs) if where else "lines " + ", ".join(str(r.line) for r in recs)
            if resolved is None:
                report.problems.append(
                    LabelProblem(
                        first.line,
                        ext_id,
                        "conflicting_labels",
                        f"conflicting labels {list(labels)} ({places}): {why}",
                        where,
                    )
                )
                continue
            label = resolved
            report.disagreements.append(
                {"id": ext_id, "where": first.location, "votes": dict(Counter(votes)), "label": label}
            )
        example_id, current = stored[ext_id]
        if current == label:
            report.unchanged += 1
            continue
        if current is not None and not overwrite:
            report.problems.append(
                LabelProblem(
                    first.line,
                    ext_id,
                    "conflicts_stored",
                    f"already labeled {current!r}, file says {label!r} (overwrite to replace)",
                    where,
                )
            )
            continue
        to_apply[example_id] = label

    return report, to_apply
