"""Skills of a pool's items: the vocabulary, bulk skill edits, difficulty thresholds and skill
prediction by any registered predictor (`fewshot.adaptive.PREDICTORS`).

Pool settings (``Pool.settings``, JSON): ``{"skills": [...vocabulary...], "difficulty": {...}}``.
Without a stored vocabulary, a pool's vocabulary is the set of skills its items carry.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fewshot.adaptive import (
    PREDICTORS,
    DifficultyThresholds,
    SkillPredictor,
    check_skills,
    skill_counts,
    vocabulary_from,
)
from fewshot.exceptions import IngestError, InvalidInputError
from fewshot.io import iter_records
from fewshot.service.context import ServiceContext
from fewshot.service.indexes import IndexService
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows

__all__ = ["SkillService", "SkillEdit", "SkillEditReport", "EDIT_MODES", "parse_skill_value"]

logger = logging.getLogger(__name__)

EDIT_MODES = ("set", "add", "remove")


@dataclass(frozen=True)
class SkillEdit:
    """One item's skill change: ``mode`` (set/add/remove) ``skills`` on item ``id``; ``line`` for errors."""

    id: str
    skills: tuple[str, ...]
    mode: str = "set"
    line: int | None = None


@dataclass
class SkillEditReport:
    pool: str
    read: int = 0
    changed: int = 0
    unchanged: int = 0
    new_skills: list[str] = field(default_factory=list)
    #: the pool's index version after the edit (refreshed when the pool had an index), else None
    index_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_skill_value(value: Any, where: str) -> tuple[str, ...]:
    """Skills from a JSON list, or a ``;``/``,``-separated string (as ingest reads them)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InvalidInputError(f"{where}: skills look like a JSON list but do not parse") from None
        else:
            value = [p.strip() for p in text.split(";" if ";" in text else ",")]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise InvalidInputError(f"{where}: skills must be a list of strings, got {value!r}")
    return tuple(dict.fromkeys(s.strip() for s in value if s.strip()))


class SkillService:
    """Skill vocabularies, edits, thresholds and predictors (cached by pool, index version, method)."""

    def __init__(self, ctx: ServiceContext, indexes: IndexService) -> None:
        self.ctx, self.indexes = ctx, indexes
        self._lock = threading.RLock()
        self._predictors: dict[tuple[str, str, str], SkillPredictor] = {}  # (index stamp, method, options)

    # ------------------------------------------------------------------------- settings
    def _settings(self, pool: str) -> dict[str, Any]:
        with self.ctx.session() as s:
            return dict(pool_rows.get_pool(s, name=pool).settings or {})

    def _update_settings(self, pool: str, key: str, value: Any) -> None:
        with self.ctx.session() as s:
            pool_rows.update_setting(s, name=pool, key=key, value=value)

    def _item_skills(self, pool: str) -> list[list[str]]:
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            return example_rows.item_skills(s, pool_id=p.id)

    def vocabulary(self, pool: str) -> list[str]:
        """The pool's skill vocabulary: the stored one, else the skills its items carry (most frequent first)."""
        stored = self._settings(pool).get("skills")
        return list(stored) if stored else vocabulary_from(self._item_skills(pool))

    def vocabulary_info(self, pool: str) -> dict[str, Any]:
        """``{"pool", "skills", "stored", "counts"}``: the vocabulary (stored, else derived from the
        items, most frequent first), whether it is stored, and how many items carry each skill."""
        stored = self._settings(pool).get("skills")
        counts = skill_counts(self._item_skills(pool))
        vocab = list(stored) if stored else sorted(counts, key=lambda s: (-counts[s], s))
        return {"pool": pool, "skills": vocab, "stored": bool(stored), "counts": {s: counts.get(s, 0) for s in vocab}}

    def set_vocabulary(self, pool: str, skills: Sequence[str] | None) -> dict[str, Any]:
        """Store the vocabulary (None: forget it, derive from the items). Refused, naming them, when
        items carry skills outside it."""
        if skills is not None:
            vocab = check_skills(skills, None, what="vocabulary")
            if not vocab:
                raise InvalidInputError("vocabulary must name at least one skill (or reset it to derive it from items)")
            outside = sorted(set(skill_counts(self._item_skills(pool))) - set(vocab))
            if outside:
                raise InvalidInputError(
                    f"items of pool {pool!r} carry skills outside the new vocabulary: "
                    f"{outside[:10]}{' ...' if len(outside) > 10 else ''}; edit those items first "
                    "or include the skills"
                )
            self._update_settings(pool, "skills", vocab)
        else:
            self._update_settings(pool, "skills", None)
        return self.vocabulary_info(pool)

    def thresholds(self, pool: str) -> DifficultyThresholds:
        """The pool's difficulty thresholds (the paper's defaults where none are stored)."""
        return DifficultyThresholds.from_dict(self._settings(pool).get("difficulty"))

    def set_thresholds(self, pool: str, values: Mapping[str, Any] | None) -> DifficultyThresholds:
        """Update some thresholds (None: back to the defaults)."""
        if values is None:
            self._update_settings(pool, "difficulty", None)
            return DifficultyThresholds()
        merged = DifficultyThresholds.from_dict(values, base=self.thresholds(pool))
        self._update_settings(pool, "difficulty", merged.to_dict())
        return merged

    # --------------------------------------------------------------------------- edits
    def edit(self, pool: str, edits: Iterable[SkillEdit], *, source: str = "request") -> SkillEditReport:
        """Apply skill edits, all or nothing: every id must exist and, when the pool stores a
        vocabulary, every skill must be in it; the first problem is raised naming the id and line."""
        edits = list(edits)
        report = SkillEditReport(pool=pool, read=len(edits))
        if not edits:
            raise InvalidInputError("no skill edits given")
        stored = self._settings(pool).get("skills")
        known = set(stored) if stored else set(vocabulary_from(self._item_skills(pool)))
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            rows = example_rows.by_external_ids(s, pool_id=p.id, ids=[e.id for e in edits])
            new: dict[str, None] = {}
            planned: dict[str, list[str]] = {}
            for n, e in enumerate(edits, start=1):
                where = f"{source}, line {e.line if e.line is not None else n}, id {e.id!r}"
                if e.mode not in EDIT_MODES:
                    raise InvalidInputError(f"{where}: mode must be one of {', '.join(EDIT_MODES)}, got {e.mode!r}")
                if e.id not in rows:
                    raise InvalidInputError(f"{where}: no item with this id in pool {pool!r}; nothing was changed")
                skills = check_skills(e.skills, stored, what=where) if e.skills else []
                if not skills and e.mode != "set":
                    raise InvalidInputError(f"{where}: {e.mode} needs at least one skill")
                for sk in skills:
                    if sk not in known:
                        new.setdefault(sk)
                current = planned.get(e.id, list(rows[e.id].skills or ()))
                if e.mode == "set":
                    after = list(skills)
                elif e.mode == "add":
                    after = current + [sk for sk in skills if sk not in current]
                else:
                    after = [sk for sk in current if sk not in skills]
                planned[e.id] = after
            for ext_id, after in planned.items():
                row = rows[ext_id]
                if list(row.skills or ()) == after:
                    report.unchanged += 1
                else:
                    example_rows.set_skills(row, after)
                    report.changed += 1
            report.new_skills = list(new)
        report.index_version = self._refresh_index(pool) if report.changed else None
        return report

    def _refresh_index(self, pool: str) -> int | None:
        """Bring an existing index up to date with edited skills, so skill-filtered retrieval sees
        them at once (incremental: no text changed, so nothing is embedded again)."""
        if not self.indexes.exists(pool):
            return None
        return self.indexes.build(pool).version

    def edit_many(
        self,
        pool: str,
        ids: Sequence[str],
        *,
        set: Sequence[str] | None = None,
        add: Sequence[str] | None = None,
        remove: Sequence[str] | None = None,
    ) -> SkillEditReport:
        """The same change for many items: exactly one of ``set``, ``add``, ``remove``."""
        given = [(m, v) for m, v in (("set", set), ("add", add), ("remove", remove)) if v is not None]
        if len(given) != 1:
            raise InvalidInputError("give exactly one of set, add or remove")
        if not ids:
            raise InvalidInputError("ids must name at least one item")
        mode, skills = given[0]
        return self.edit(pool, [SkillEdit(str(i), tuple(skills), mode, n) for n, i in enumerate(ids, start=1)])

    def edit_from_file(
        self,
        pool: str,
        path: str | Path,
        *,
        mode: str = "set",
        fmt: str | None = None,
        id_field: str = "id",
        skills_field: str = "skills",
    ) -> SkillEditReport:
        """Per-item skills from a JSONL/CSV file (``id``, ``skills`` as a JSON list or ``a;b``; an
        optional ``mode`` column overrides ``mode`` per row). All or nothing; errors name the line."""
        edits = []
        for line, rec in iter_records(path, fmt):
            if id_field not in rec or rec[id_field] in (None, ""):
                raise IngestError(f"missing {id_field!r}", path=str(path), line=line, field=id_field)
            if skills_field not in rec:
                raise IngestError(f"missing {skills_field!r}", path=str(path), line=line, field=skills_field)
            skills = parse_skill_value(rec[skills_field], f"{path}, line {line}, field {skills_field!r}")
            edits.append(SkillEdit(str(rec[id_field]), skills, str(rec.get("mode") or mode), line))
        return self.edit(pool, edits, source=str(path))

    # ----------------------------------------------------------------------- prediction
    @staticmethod
    def predictor_names() -> list[str]:
        """The registered skill predictors (`fewshot.adaptive.PREDICTORS`)."""
        return PREDICTORS.names()

    def predictor(
        self, pool: str, method: str = "knn", *, lm: str | None = None, n_neighbors: int = 16
    ) -> SkillPredictor:
        """The pool's skill predictor ``method``, built over its dense index (cached per index
        version); an LM-backed predictor needs ``lm``, a backend spec."""
        cls = PREDICTORS.get(method)
        loaded = self.indexes.loaded_dense(pool)
        dense = loaded.retriever
        vocab = self.vocabulary(pool)
        if not vocab:
            raise InvalidInputError(f"pool {pool!r} has no skills: ingest with --skills-field or edit skills first")
        if cls.needs_lm:
            if not lm:
                raise InvalidInputError(f"the {method} skill predictor needs an LM backend spec (e.g. smollm2)")
            return cls.for_pool(dense, vocab, lm=self.ctx.lm(lm))
        key = (loaded.stamp, method, f"{n_neighbors}|{','.join(vocab)}")
        with self._lock:
            if key not in self._predictors:
                self._predictors[key] = cls.for_pool(dense, vocab, n_neighbors=n_neighbors)
            return self._predictors[key]

    def predict(
        self, pool: str, queries: Sequence[str] | str, *, method: str = "knn", top: int = 1, lm: str | None = None
    ) -> list[list[str]]:
        """Up to ``top`` skills per query, most likely first."""
        return self.predictor(pool, method, lm=lm).predict(queries, top=top)
