"""Skills and adaptive prompts over a workspace's pools: the service functions behind
``Workspace.skill_vocabulary``, ``edit_skills``, ``predict_skills``, ``adaptive_prompt``,
``two_pass`` (CLI, API and library all call these).

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
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from fewshot.adaptive._judges import DifficultyThresholds
from fewshot.adaptive._policy import AdaptivePolicy, Feedback, skill_demonstrations
from fewshot.adaptive._predict import PREDICTORS, KNNSkillPredictor, LMSkillPredictor, LogisticSkillPredictor, chat_wrapper
from fewshot.adaptive._prompter import DEFAULT_STOP, AdaptivePrompt, TwoPassResult, run_two_pass
from fewshot.adaptive._skills import check_skills, skill_counts, vocabulary_from
from fewshot.exceptions import IngestError, InvalidInputError, NotFoundError
from fewshot.store import crud
from fewshot.store.models import Example

if TYPE_CHECKING:
    from fewshot.workspace import Workspace

__all__ = ["AdaptiveService", "SkillEdit", "SkillEditReport", "EDIT_MODES"]

logger = logging.getLogger(__name__)

EDIT_MODES = ("set", "add", "remove")
IN_CHUNK = 500  # ids per SQL IN list


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


class AdaptiveService:
    """Per-workspace skill predictors and loaded LMs (cached by pool, index version, method)."""

    def __init__(self, ws: "Workspace") -> None:
        self.ws = ws
        self._lock = threading.RLock()
        self._predictors: dict[tuple[int, int, str, str], Any] = {}
        self._lms: dict[str, Any] = {}

    # ------------------------------------------------------------------------- settings
    def _settings(self, pool: str) -> dict[str, Any]:
        with self.ws.session() as s:
            return dict(crud.get_pool(s, name=pool).settings or {})

    def _update_settings(self, pool: str, key: str, value: Any) -> None:
        with self.ws.session() as s:
            p = crud.get_pool(s, name=pool)
            settings = dict(p.settings or {})
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
            p.settings = settings or None
            flag_modified(p, "settings")

    def _item_skills(self, pool: str) -> list[list[str]]:
        with self.ws.session() as s:
            p = crud.get_pool(s, name=pool)
            return [list(v or ()) for v in s.scalars(select(Example.skills).where(Example.pool_id == p.id))]

    def vocabulary(self, pool: str) -> list[str]:
        """The pool's skill vocabulary: the stored one, else the skills its items carry (most frequent first)."""
        stored = self._settings(pool).get("skills")
        return list(stored) if stored else vocabulary_from(self._item_skills(pool))

    def vocabulary_info(self, pool: str) -> dict[str, Any]:
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
                raise InvalidInputError(f"items of pool {pool!r} carry skills outside the new vocabulary: "
                                        f"{outside[:10]}{' ...' if len(outside) > 10 else ''}; edit those items first "
                                        "or include the skills")
            self._update_settings(pool, "skills", vocab)
        else:
            self._update_settings(pool, "skills", None)
        return self.vocabulary_info(pool)

    def thresholds(self, pool: str) -> DifficultyThresholds:
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
        with self.ws.session() as s:
            p = crud.get_pool(s, name=pool)
            wanted = sorted({e.id for e in edits})
            rows = {}
            for start in range(0, len(wanted), IN_CHUNK):  # bounded IN lists (SQLite's variable limit)
                part = wanted[start:start + IN_CHUNK]
                rows.update((r.external_id, r) for r in s.scalars(
                    select(Example).where(Example.pool_id == p.id, Example.external_id.in_(part))))
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
                    row.skills = after
                    flag_modified(row, "skills")
                    report.changed += 1
            report.new_skills = list(new)
        report.index_version = self._refresh_index(pool) if report.changed else None
        return report

    def _refresh_index(self, pool: str) -> int | None:
        """Bring an existing index up to date with edited skills, so skill-filtered retrieval sees
        them at once (incremental: no text changed, so nothing is embedded again)."""
        try:
            self.ws.index_info(pool)
        except NotFoundError:
            return None
        return self.ws.build_index(pool).version

    def edit_many(self, pool: str, ids: Sequence[str], *, set: Sequence[str] | None = None,
                  add: Sequence[str] | None = None, remove: Sequence[str] | None = None) -> SkillEditReport:
        """The same change for many items: exactly one of ``set``, ``add``, ``remove``."""
        given = [(m, v) for m, v in (("set", set), ("add", add), ("remove", remove)) if v is not None]
        if len(given) != 1:
            raise InvalidInputError("give exactly one of set, add or remove")
        if not ids:
            raise InvalidInputError("ids must name at least one item")
        mode, skills = given[0]
        return self.edit(pool, [SkillEdit(str(i), tuple(skills), mode, n) for n, i in enumerate(ids, start=1)])

    def edit_from_file(self, pool: str, path: str | Path, *, mode: str = "set", fmt: str | None = None,
                       id_field: str = "id", skills_field: str = "skills") -> SkillEditReport:
        """Per-item skills from a JSONL/CSV file (``id``, ``skills`` as a JSON list or ``a;b``; an
        optional ``mode`` column overrides ``mode`` per row). All or nothing; errors name the line."""
        from fewshot.io._readers import iter_records

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
    def lm(self, spec: str) -> Any:
        with self._lock:
            if spec not in self._lms:
                from fewshot.lm import get_backend

                self._lms[spec] = get_backend(spec)
            return self._lms[spec]

    def predictor(self, pool: str, method: str = "knn", *, lm: str | None = None, n_neighbors: int = 16):
        if method not in PREDICTORS:
            raise InvalidInputError(f"unknown skill predictor {method!r}; choose from {', '.join(PREDICTORS)}")
        pool_id, version, dense = self.ws.serving._dense(pool)
        vocab = self.vocabulary(pool)
        if not vocab:
            raise InvalidInputError(f"pool {pool!r} has no skills: ingest with --skills-field or edit skills first")
        if method == "lm":
            if not lm:
                raise InvalidInputError("the lm skill predictor needs an LM backend spec (e.g. smollm2)")
            backend = self.lm(lm)
            return LMSkillPredictor(backend, vocab, wrap=chat_wrapper(backend))
        key = (pool_id, version, method, f"{n_neighbors}|{','.join(vocab)}")
        with self._lock:
            if key not in self._predictors:
                if method == "knn":
                    self._predictors[key] = KNNSkillPredictor(dense, n_neighbors=n_neighbors, vocabulary=vocab)
                else:
                    self._predictors[key] = LogisticSkillPredictor.from_retriever(dense)
            return self._predictors[key]

    def predict(self, pool: str, queries: Sequence[str] | str, *, method: str = "knn", top: int = 1,
                lm: str | None = None) -> list[list[str]]:
        return self.predictor(pool, method, lm=lm).predict(queries, top=top)

    # -------------------------------------------------------------------------- prompts
    def policy(self, pool: str, *, predictor: str = "knn", lm: str | None = None, n_skills: int = 1,
               thresholds: Mapping[str, Any] | None = None) -> AdaptivePolicy:
        t = DifficultyThresholds.from_dict(thresholds, base=self.thresholds(pool))
        return AdaptivePolicy(_LazyPredictor(self, pool, predictor, lm), thresholds=t, vocabulary=self.vocabulary(pool),
                              n_skills=n_skills)

    def adaptive_prompt(self, pool: str, query: str, *, feedback: Feedback | Mapping[str, Any] | None = None,
                        predictor: str = "knn", lm: str | None = None, n_skills: int = 1,
                        thresholds: Mapping[str, Any] | None = None, k: int = 5, retriever: str = "dense",
                        **options: Any) -> AdaptivePrompt:
        """Build the prompt the policy chooses for ``query`` given ``feedback`` (None = stage 1),
        logged with the branch, reason and skills in the prompt log's params."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        fb = feedback if isinstance(feedback, Feedback) or feedback is None else Feedback.from_dict(feedback)
        decision = self.policy(pool, predictor=predictor, lm=lm, n_skills=n_skills,
                               thresholds=thresholds).decide(query, fb)
        demos = None
        if decision.uses_skills:
            _, _, dense = self.ws.serving._dense(pool)
            flt = options.get("filter")
            demos = skill_demonstrations(dense, query, decision.skills, k,
                                         exclude_ids=tuple(flt.exclude_ids) if flt is not None else ())
        adaptive = {**decision.to_dict(), "feedback": None if fb is None else fb.to_dict()}
        prompt, prompt_id = self.ws.serving.build_prompt(pool, query, k=k, retriever=retriever, demos=demos,
                                                         log_params={"adaptive": adaptive}, **options)
        return AdaptivePrompt(prompt, decision, list(demos) if demos is not None else [], prompt_id)

    def two_pass(self, pool: str, query: str, *, lm: str, judge: str = "confidence", plus: str | None = None,
                 predictor: str = "knn", n_skills: int = 1, thresholds: Mapping[str, Any] | None = None,
                 n_samples: int = 3, temperature: float = 0.7, seed: int = 0, max_new_tokens: int = 256,
                 stop: Sequence[str] = DEFAULT_STOP, k: int = 5, retriever: str = "dense",
                 **options: Any) -> TwoPassResult:
        """Answer ``query`` with LM ``lm`` (a backend spec), judge the answer, and answer again from
        the adaptive prompt when it is difficult. ``plus``: None (AdaptMI), ``"lm"`` (the same LM
        names the skills the failed answer lacked) or ``"knn"``/``"logreg"`` (skill prediction on
        question + failed answer): AdaptMI+."""
        backend = self.lm(lm)
        options.setdefault("tokenizer", "approx")
        options.setdefault("reserve_tokens", max_new_tokens + 2)

        def build(feedback: Feedback | None) -> AdaptivePrompt:
            return self.adaptive_prompt(pool, query, feedback=feedback, predictor=predictor, lm=lm, n_skills=n_skills,
                                        thresholds=thresholds, k=k, retriever=retriever, **options)

        missing = None
        if plus is not None:
            if plus == "lm":
                named = LMSkillPredictor(backend, self.vocabulary(pool), wrap=chat_wrapper(backend))

                def missing(q: str, answer: str) -> list[str]:
                    return named.missing_skills([q], [answer], top=n_skills)[0]
            elif plus in ("knn", "logreg"):
                pred = self.predictor(pool, plus)

                def missing(q: str, answer: str) -> list[str]:
                    return pred.predict([q + "\n" + answer], top=n_skills)[0]
            else:
                raise InvalidInputError(f"plus must be lm, knn or logreg, got {plus!r}")
        return run_two_pass(backend, build, query, judge=judge, n_samples=n_samples, temperature=temperature,
                            seed=seed, max_new_tokens=max_new_tokens, stop=stop, missing_skills=missing,
                            missing_skills_source="lm" if plus == "lm" else f"predicted:{plus}")


class _LazyPredictor:
    """Loads the pool's predictor only when a difficult query needs one (easy and caller-named
    branches never pay for it)."""

    def __init__(self, service: AdaptiveService, pool: str, method: str, lm: str | None) -> None:
        if method not in PREDICTORS:
            raise InvalidInputError(f"unknown skill predictor {method!r}; choose from {', '.join(PREDICTORS)}")
        self.service, self.pool, self.name, self.lm = service, pool, method, lm
        self.vocabulary = service.vocabulary(pool)

    def predict(self, queries: Sequence[str], *, top: int = 1) -> list[list[str]]:
        return self.service.predictor(self.pool, self.name, lm=self.lm).predict(queries, top=top)
