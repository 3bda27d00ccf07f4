"""Importing labels back from annotators: validated as a whole, applied all at once.

Every record is checked before anything is written. Unknown ids, empty labels, conflicting
labels (one item given two labels in the file, or by two annotators, or a label different from
the one already stored) are collected item by item into :class:`LabelImportReport.problems`.
With problems, nothing is applied and :class:`LabelImportError` carries the report, unless
``skip_invalid=True`` (apply the clean items, report the rest). Importing the same file twice
changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .exceptions import InvalidInputError
from .io import LabelRecord
from .store.models import Example, ExampleStatus, Pool

__all__ = ["LabelImportReport", "LabelImportError", "LabelProblem", "import_labels"]


@dataclass(frozen=True)
class LabelProblem:
    line: int
    external_id: str
    kind: str  # unknown_id | empty_label | conflicting_labels | conflicts_stored
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}, id {self.external_id!r}: {self.detail}"


@dataclass
class LabelImportReport:
    pool: str
    read: int = 0
    applied: int = 0
    unchanged: int = 0
    problems: list[LabelProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["problems"] = [p.__dict__ for p in self.problems]
        return d


class LabelImportError(InvalidInputError):
    def __init__(self, report: LabelImportReport) -> None:
        shown = "\n".join(f"  {p}" for p in report.problems[:20])
        more = f"\n  ... and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        super().__init__(f"{len(report.problems)} of {report.read} labels cannot be imported; nothing was applied "
                         f"(use skip_invalid / --skip-invalid to apply the others):\n{shown}{more}")
        self.report = report


def import_labels(session: Session, pool: Pool, records: Sequence[LabelRecord], *, overwrite: bool = False,
                  skip_invalid: bool = False) -> LabelImportReport:
    report = LabelImportReport(pool=pool.name, read=len(records))
    by_id: dict[str, list[LabelRecord]] = {}
    for rec in records:
        by_id.setdefault(rec.external_id, []).append(rec)
    stored: dict[str, tuple[int, str | None]] = {}
    ids = list(by_id)
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        for row in session.execute(select(Example.external_id, Example.id, Example.label)
                                   .where(Example.pool_id == pool.id, Example.external_id.in_(chunk))):
            stored[row.external_id] = (row.id, row.label)

    to_apply: dict[int, str] = {}
    for ext_id, recs in by_id.items():
        first = recs[0]
        labels = tuple(dict.fromkeys(lab for r in recs for lab in r.labels))
        if ext_id not in stored:
            report.problems.append(LabelProblem(first.line, ext_id, "unknown_id", f"no item with this id in pool {pool.name!r}"))
            continue
        if not labels:
            report.problems.append(LabelProblem(first.line, ext_id, "empty_label", "the label is empty"))
            continue
        if len(labels) > 1:
            lines = ", ".join(str(r.line) for r in recs)
            report.problems.append(LabelProblem(first.line, ext_id, "conflicting_labels",
                                                f"conflicting labels {list(labels)} (lines {lines})"))
            continue
        example_id, current = stored[ext_id]
        if current == labels[0]:
            report.unchanged += 1
            continue
        if current is not None and not overwrite:
            report.problems.append(LabelProblem(first.line, ext_id, "conflicts_stored",
                                                f"already labeled {current!r}, file says {labels[0]!r} (overwrite to replace)"))
            continue
        to_apply[example_id] = labels[0]

    if report.problems and not skip_invalid:
        raise LabelImportError(report)
    for example_id, label in to_apply.items():
        session.execute(update(Example).where(Example.id == example_id)
                        .values(label=label, status=ExampleStatus.LABELED.value))
    report.applied = len(to_apply)
    return report
