"""`Corpus`: the labeled items demonstrations are drawn from.

A corpus is a plain in-memory collection of `Example` objects (defined in
`fewshot.retrieve._example`, re-exported here); it knows nothing about databases. Items are
identified by the caller's ids (``int`` or ``str``). Internally every item also gets a *key*:
a non-negative int64 given in insertion order and never reused, which is what vector and BM25
indexes store. Re-adding an id replaces the item and keeps its key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.retrieve._example import CORE_FIELDS, Example
from fewshot.retrieve._filter import Filter

__all__ = ["Example", "Corpus", "CORE_FIELDS"]

_FILTER_CACHE_SIZE = 16
#: What `_fields_match` compares an absent field as (equal to no value).
_ABSENT = object()


class Corpus:
    """An ordered, mutable collection of `Example` objects with metadata look-ups.

    Keys are positions in insertion order (int64, never reused); removed items leave a
    gap. ``version`` increases on every change, so retrievers built over the corpus can
    bring their indexes up to date lazily (see ``changed_since``).

    Examples
    --------
    >>> c = Corpus([Example(id="a", text="good film", label=1),
    ...             Example(id="b", text="dull film", label=0)])
    >>> len(c), c.key_of(["b"]).tolist(), c.labels()
    (2, [1], [1, 0])
    """

    def __init__(self, examples: Iterable[Example] = ()) -> None:
        self._items: list[Example | None] = []
        self._set_at: list[int] = []
        self._key_of: dict[int | str, int] = {}
        self._by_label: dict[Hashable, set[int]] = {}
        self._by_skill: dict[str, set[int]] = {}
        self._version = 0
        self._live: tuple[int, np.ndarray] | None = None
        self._filter_cache: dict[tuple[Filter, int], np.ndarray] = {}
        self.add(examples)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        id_field: str = "id",
        text_field: str = "text",
        text_template: str | None = None,
        label_field: str | None = "label",
        output_field: str | None = None,
        skills_field: str | None = "skills",
        keep_fields: Sequence[str] | None = None,
    ) -> Corpus:
        """Build a corpus from dict rows (e.g. parsed JSONL).

        ``text_template`` (``str.format`` syntax over the row) builds the text of
        multi-field rows instead of ``text_field``. The other keys of a row go to
        ``fields`` (all of them, or only ``keep_fields``).
        """
        used = {id_field, text_field, label_field, output_field, skills_field}
        examples = []
        for i, row in enumerate(records):
            if id_field not in row:
                raise InvalidInputError(f"record {i}: missing id field {id_field!r}")
            if text_template is not None:
                try:
                    text = text_template.format_map(row)
                except KeyError as exc:
                    raise InvalidInputError(
                        f"record {row[id_field]!r}: text_template needs field {exc.args[0]!r}"
                    ) from exc
            elif text_field in row:
                text = row[text_field]
            else:
                raise InvalidInputError(f"record {row[id_field]!r}: missing field {text_field!r}")
            names = (
                keep_fields if keep_fields is not None else [n for n in row if n not in used and n not in CORE_FIELDS]
            )
            examples.append(
                Example(
                    id=row[id_field],
                    text=text,
                    label=row.get(label_field) if label_field else None,
                    output=row.get(output_field) if output_field else None,
                    skills=tuple(row.get(skills_field) or ()) if skills_field else (),
                    fields={n: row[n] for n in names if n in row},
                )
            )
        return cls(examples)

    def add(self, examples: Iterable[Example]) -> np.ndarray:
        """Add examples (an existing id is replaced and keeps its key).

        Returns the keys of the added examples, int64 of shape (n,).
        """
        examples = list(examples)
        seen: set[int | str] = set()
        for ex in examples:
            if not isinstance(ex, Example):
                raise InvalidInputError(f"expected Example objects, got {type(ex).__name__}")
            if ex.id in seen:
                raise InvalidInputError(f"duplicate id {ex.id!r} in one add() call")
            seen.add(ex.id)
        if not examples:
            return np.empty(0, dtype=np.int64)
        self._version += 1
        keys = np.empty(len(examples), dtype=np.int64)
        for j, ex in enumerate(examples):
            key = self._key_of.get(ex.id)
            if key is None:
                key = len(self._items)
                self._items.append(ex)
                self._set_at.append(self._version)
                self._key_of[ex.id] = key
            else:
                self._unindex(key)
                self._items[key] = ex
                self._set_at[key] = self._version
            self._index(key, ex)
            keys[j] = key
        return keys

    def remove(self, ids: Iterable[int | str]) -> np.ndarray:
        """Remove the examples with these ids; returns their keys. Unknown ids raise
        `NotFoundError` (and nothing is removed)."""
        keys = self.key_of(ids)
        if keys.size:
            self._version += 1
        for key in keys.tolist():
            ex = self._items[key]
            assert ex is not None
            self._unindex(key)
            del self._key_of[ex.id]
            self._items[key] = None
            self._set_at[key] = self._version
        return keys

    def _index(self, key: int, ex: Example) -> None:
        if ex.label is not None:
            self._by_label.setdefault(ex.label, set()).add(key)
        for skill in ex.skills:
            self._by_skill.setdefault(skill, set()).add(key)

    def _unindex(self, key: int) -> None:
        ex = self._items[key]
        if ex is None:
            return
        if ex.label is not None:
            self._by_label[ex.label].discard(key)
        for skill in ex.skills:
            self._by_skill[skill].discard(key)

    # ------------------------------------------------------------------ access
    @property
    def version(self) -> int:
        """Increases by one on every `add`/`remove` that changes something."""
        return self._version

    def __len__(self) -> int:
        return len(self._key_of)

    def __contains__(self, id: object) -> bool:
        return id in self._key_of

    def __iter__(self) -> Iterator[Example]:
        return (ex for ex in self._items if ex is not None)

    def __getitem__(self, id: int | str) -> Example:
        return self.get(id)

    def get(self, id: int | str) -> Example:
        """The example with this id (`NotFoundError` if absent)."""
        try:
            key = self._key_of[id]
        except (KeyError, TypeError):
            raise NotFoundError(f"no example with id {id!r} in the corpus") from None
        ex = self._items[key]
        assert ex is not None
        return ex

    def keys(self) -> np.ndarray:
        """Keys of the current examples, ascending, int64 of shape (len(self),)."""
        if self._live is None or self._live[0] != self._version:
            live = np.fromiter(
                (k for k, ex in enumerate(self._items) if ex is not None), dtype=np.int64, count=len(self._key_of)
            )
            live.setflags(write=False)
            self._live = (self._version, live)
        return self._live[1]

    def key_of(self, ids: Iterable[int | str]) -> np.ndarray:
        """Keys of the given ids, int64 of shape (n,); `NotFoundError` names unknown ids."""
        ids = [ids] if isinstance(ids, (str, int)) else list(ids)
        missing = [i for i in ids if i not in self._key_of]
        if missing:
            raise NotFoundError(
                f"ids not in the corpus: {missing[:10]!r}"
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            )
        return np.fromiter((self._key_of[i] for i in ids), dtype=np.int64, count=len(ids))

    def example_at(self, key: int) -> Example:
        """The example stored under ``key`` (`NotFoundError` if removed or unknown)."""
        if not 0 <= key < len(self._items) or self._items[key] is None:
            raise NotFoundError(f"no example under key {key}")
        ex = self._items[key]
        assert ex is not None
        return ex

    def examples_at(self, keys: Iterable[int]) -> list[Example]:
        """The examples under ``keys``, in order."""
        return [self.example_at(int(k)) for k in keys]

    def texts_at(self, keys: Iterable[int]) -> list[str]:
        """The texts of the examples under ``keys``, in order."""
        return [ex.text for ex in self.examples_at(keys)]

    def labels(self) -> list[Hashable]:
        """Distinct labels of the current examples, in order of first appearance."""
        return [label for label, keys in self._by_label.items() if keys]

    def changed_since(self, version: int) -> tuple[np.ndarray, np.ndarray]:
        """Keys set (added/replaced) and keys removed after ``version``.

        Returns ``(set_keys, removed_keys)``, both ascending int64 arrays. Lets an index that
        was synchronised at ``version`` catch up without rebuilding.
        """
        stamps = np.asarray(self._set_at, dtype=np.int64)
        changed = np.flatnonzero(stamps > version).astype(np.int64)
        alive = np.fromiter((self._items[k] is not None for k in changed.tolist()), dtype=bool, count=changed.size)
        return changed[alive], changed[~alive]

    # ------------------------------------------------------------------ filters
    def allowed_keys(self, filter: Filter | None) -> np.ndarray | None:
        """Keys of the current examples that pass ``filter``, ascending int64.

        Returns None when the filter allows everything (no restriction needed).
        """
        if filter is None or filter.is_trivial:
            return None
        cached = self._filter_cache.get((filter, self._version))
        if cached is not None:
            return cached
        cand: set[int] | None = None
        if filter.ids is not None:
            cand = {self._key_of[i] for i in filter.ids if i in self._key_of}
        if filter.labels is not None:
            by_label: set[int] = set()
            for label in filter.labels:
                by_label |= self._by_label.get(label, set())
            cand = by_label if cand is None else cand & by_label
        if filter.skills is not None:
            by_skill: set[int] = set()
            for skill in filter.skills:
                by_skill |= self._by_skill.get(skill, set())
            cand = by_skill if cand is None else cand & by_skill
        if filter.fields:
            pool = self.keys().tolist() if cand is None else cand
            cand = {k for k in pool if self._fields_match(k, filter.fields)}
        if cand is None:
            cand = set(self.keys().tolist())
        if filter.exclude_ids:
            cand -= {self._key_of[i] for i in filter.exclude_ids if i in self._key_of}
        out = np.array(sorted(cand), dtype=np.int64)
        out.setflags(write=False)
        if len(self._filter_cache) >= _FILTER_CACHE_SIZE:
            self._filter_cache.clear()
        self._filter_cache[(filter, self._version)] = out
        return out

    def _fields_match(self, key: int, conditions: tuple[tuple[str, Any], ...]) -> bool:
        ex = self._items[key]
        assert ex is not None
        for name, value in conditions:
            # a field the item lacks matches no value (``ex.get(name, MISSING)`` would raise KeyError)
            if ex.get(name, _ABSENT) != value:
                return False
        return True

    # ------------------------------------------------------------------ persistence
    def write_jsonl(self, path: str | os.PathLike[str]) -> None:
        """Write the current examples, with their keys, one JSON object a line."""
        with open(path, "w", encoding="utf-8") as fh:
            for key, ex in enumerate(self._items):
                if ex is None:
                    continue
                try:
                    line = json.dumps({"key": key, **ex.to_dict()}, ensure_ascii=False)
                except TypeError as exc:
                    raise InvalidInputError(f"example {ex.id!r} is not JSON-serialisable: {exc}") from exc
                fh.write(line + "\n")

    @classmethod
    def read_jsonl(cls, path: str | os.PathLike[str]) -> Corpus:
        """Read a file written by `write_jsonl`; keys are preserved."""
        corpus = cls()
        path = Path(path)
        if not path.is_file():
            raise NotFoundError(f"corpus file {path} does not exist")
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                key = int(row.pop("key"))
                if key < len(corpus._items):
                    raise InvalidInputError(f"{path}, line {lineno}: keys must ascend")
                gap = key - len(corpus._items)
                corpus._items.extend([None] * gap)
                corpus._set_at.extend([0] * gap)
                ex = Example.from_dict(row)
                if ex.id in corpus._key_of:
                    raise InvalidInputError(f"{path}, line {lineno}: duplicate id {ex.id!r}")
                corpus._items.append(ex)
                corpus._set_at.append(1)
                corpus._key_of[ex.id] = key
                corpus._index(key, ex)
        corpus._version = 1
        return corpus
