"""`Filter`: metadata conditions on the items a retriever may return."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fewshot.exceptions import InvalidInputError

__all__ = ["Filter"]


def _frozen(values: Iterable[Any] | None, what: str) -> frozenset[Any] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        values = [values]
    try:
        return frozenset(values)
    except TypeError as exc:
        raise InvalidInputError(f"Filter.{what}: values must be hashable ({exc})") from exc


@dataclass(frozen=True, init=False)
class Filter:
    """Conditions an item must meet to be retrieved; all given conditions must hold (AND).

    Parameters
    ----------
    labels : iterable, optional
        The item's label is one of these.
    skills : iterable of str, optional
        The item's skills overlap these (at least one in common).
    fields : mapping, optional
        For each ``name: value``, the item's ``fields[name] == value``. Values must be hashable.
        A field no item has is not an error: it simply matches nothing (the same answer as a
        value no item has), so a filter never fails on the data it is applied to.
    ids : iterable, optional
        The item's id is one of these (e.g. the annotated set of a selection round).
    exclude_ids : iterable, optional
        The item's id is none of these (e.g. the query item itself).

    Filters are applied *inside* the search (an id selector for FAISS, a score mask for BM25),
    so a search asked for ``k`` results returns ``k`` allowed items whenever that many exist.
    Filters are hashable, so a batch whose queries share a filter is searched in one call.
    """

    labels: frozenset[Any] | None = None
    skills: frozenset[str] | None = None
    fields: tuple[tuple[str, Any], ...] = field(default=())
    ids: frozenset[Any] | None = None
    exclude_ids: frozenset[Any] = frozenset()

    def __init__(
        self,
        *,
        labels: Iterable[Any] | None = None,
        skills: Iterable[str] | None = None,
        fields: Mapping[str, Hashable] | None = None,
        ids: Iterable[Any] | None = None,
        exclude_ids: Iterable[Any] = (),
    ) -> None:
        items = tuple(sorted((fields or {}).items()))
        for name, value in items:
            try:
                hash(value)
            except TypeError as exc:
                raise InvalidInputError(f"Filter.fields[{name!r}]: value must be hashable ({exc})") from exc
        object.__setattr__(self, "labels", _frozen(labels, "labels"))
        object.__setattr__(self, "skills", _frozen(skills, "skills"))
        object.__setattr__(self, "fields", items)
        object.__setattr__(self, "ids", _frozen(ids, "ids"))
        object.__setattr__(self, "exclude_ids", _frozen(exclude_ids, "exclude_ids") or frozenset())

    @property
    def is_trivial(self) -> bool:
        """True when the filter allows every item."""
        return (
            self.labels is None
            and self.skills is None
            and not self.fields
            and self.ids is None
            and not self.exclude_ids
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (sorted lists; for logging and provenance)."""

        def srt(values: frozenset[Any] | None) -> list[Any] | None:
            return None if values is None else sorted(values, key=repr)

        return {
            "labels": srt(self.labels),
            "skills": srt(self.skills),
            "fields": dict(self.fields),
            "ids": srt(self.ids),
            "exclude_ids": srt(self.exclude_ids),
        }
