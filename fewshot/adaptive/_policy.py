"""`AdaptivePolicy`: which demonstrations a query gets, given feedback on a first answer.

Branches (`Decision.branch`):

* ``first_pass`` -- no feedback yet: the default retriever's demonstrations (stage 1).
* ``easy`` -- a judge says the model coped: the default demonstrations (keep the first answer).
* ``difficult`` (AdaptMI) -- demonstrations covering the query's *predicted* skills.
* ``adaptmi_plus`` (AdaptMI+) -- demonstrations covering the skills the failed answer lacked,
  named by the caller (or an LM).

Skill demonstrations (`skill_demonstrations`): at least one per skill (the most similar item
having it), then filled up to ``k`` from the first skill, then the others, similarity-ranked
inside each skill (never random).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from fewshot.adaptive._judges import (
    CallerScoreJudge,
    ConfidenceJudge,
    DifficultyThresholds,
    Judgement,
    SelfConsistencyJudge,
)
from fewshot.adaptive._predict import SkillPredictor
from fewshot.adaptive._skills import check_skills
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import Demo, Filter

__all__ = ["Feedback", "Decision", "AdaptivePolicy", "skill_demonstrations", "BRANCHES"]

logger = logging.getLogger(__name__)

BRANCHES = ("first_pass", "easy", "difficult", "adaptmi_plus")


@dataclass(frozen=True)
class Feedback:
    """What is known about the model's first answer to a query. Every field is optional.

    first_answer : the model's first answer (text).
    step_scores : the caller's per-step scores of that answer (e.g. a process reward model).
    confidence : the first answer's mean token log-prob (by the caller's LM).
    token_logprobs : the first answer's token log-probs (the mean is the confidence).
    samples : several sampled answers to the same prompt (self-consistency).
    missing_skills : skills the answer lacked (AdaptMI+), from the pool's vocabulary.
    missing_skills_source : who named them (default "caller"; the two-pass helper sets "lm",
        "predicted:knn", ...).
    difficult : the caller's own verdict, overriding every judge.
    """

    first_answer: str | None = None
    step_scores: tuple[float, ...] | None = None
    confidence: float | None = None
    token_logprobs: tuple[float, ...] | None = None
    samples: tuple[str, ...] | None = None
    missing_skills: tuple[str, ...] | None = None
    missing_skills_source: str | None = None
    difficult: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Feedback | None:
        """From a JSON object; unknown keys and wrongly typed values are named."""
        if data is None:
            return None
        if isinstance(data, Feedback):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"feedback must be an object, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown feedback field(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if value is None:
                continue
            if name in ("first_answer", "missing_skills_source"):
                if not isinstance(value, str):
                    raise InvalidInputError(f"feedback.{name} must be a string")
            elif name in ("step_scores", "token_logprobs"):
                if (
                    isinstance(value, (str, bytes))
                    or not isinstance(value, Sequence)
                    or not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
                    )
                ):
                    raise InvalidInputError(f"feedback.{name} must be a list of finite numbers, got {value!r}")
                value = tuple(float(v) for v in value)
            elif name in ("samples", "missing_skills"):
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
                    raise InvalidInputError(f"feedback.{name} must be a list of strings, got {value!r}")
                value = tuple(value)
            elif name == "confidence":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise InvalidInputError(f"feedback.confidence must be a finite number, got {value!r}")
                value = float(value)
            elif name == "difficult" and not isinstance(value, bool):
                raise InvalidInputError(f"feedback.difficult must be true or false, got {value!r}")
            values[name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v, tuple) else v)
            for f in fields(self)
            if (v := getattr(self, f.name)) is not None
        }


@dataclass(frozen=True)
class Decision:
    """The branch taken for a query and why.

    branch : one of `BRANCHES`. reason : one line for people and logs.
    skills : the skills the demonstrations were chosen for (empty for first_pass/easy).
    skill_source : where they came from ("caller", "predicted:knn", "lm", ...).
    judgement : the judge's verdict, when one ran.
    """

    branch: str
    reason: str
    skills: tuple[str, ...] = ()
    skill_source: str | None = None
    judgement: Judgement | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_skills(self) -> bool:
        return self.branch in ("difficult", "adaptmi_plus") and bool(self.skills)

    def to_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "reason": self.reason,
            "skills": list(self.skills),
            "skill_source": self.skill_source,
            "judgement": None if self.judgement is None else self.judgement.to_dict(),
            **self.extra,
        }


def skill_demonstrations(
    retriever: Any, query: str, skills: Sequence[str], k: int, *, exclude_ids: Sequence[Any] = ()
) -> list[Demo]:
    """Demonstrations covering ``skills``: one per skill (its most similar item), then filled up to
    ``k`` from the first skill's ranking, then the next skills'; best first.

    One batched search: one filtered query per skill (``Filter(skills=[s])`` inside the search).
    Skills beyond ``k`` are dropped (each needs a slot).
    """
    if not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be an int >= 1, got {k!r}")
    skills = list(dict.fromkeys(skills))[:k]
    if not skills:
        return []
    filters = [Filter(skills=[s], exclude_ids=exclude_ids) for s in skills]
    results = retriever.retrieve([query] * len(skills), k, filter=filters)
    chosen: list[Demo] = []
    seen: set[Any] = set()
    for demos in results:  # at least one per skill
        for d in demos:
            if d.id not in seen:
                chosen.append(d)
                seen.add(d.id)
                break
    for demos in results:  # fill from the first skill, then the next ones
        for d in demos:
            if len(chosen) >= k:
                break
            if d.id not in seen:
                chosen.append(d)
                seen.add(d.id)
    chosen.sort(key=lambda d: -d.score)
    return [Demo(d.example, d.score, rank) for rank, d in enumerate(chosen)]


class AdaptivePolicy:
    """Decides the branch for a query from its feedback (see the module docstring).

    Parameters
    ----------
    predictor : SkillPredictor, optional
        Predicts the skills of difficult queries (AdaptMI). Without one, a difficult query with
        no caller-named skills falls back to the default demonstrations (said in the reason).
    thresholds : DifficultyThresholds
    vocabulary : list of str, optional
        Caller-named skills must come from it (default: the predictor's vocabulary, if any).
    n_skills : int
        Skills predicted per difficult query.
    """

    def __init__(
        self,
        predictor: SkillPredictor | None = None,
        *,
        thresholds: DifficultyThresholds | None = None,
        vocabulary: Sequence[str] | None = None,
        n_skills: int = 1,
    ) -> None:
        if not isinstance(n_skills, int) or n_skills < 1:
            raise InvalidInputError(f"n_skills must be an int >= 1, got {n_skills!r}")
        self.predictor = predictor
        self.thresholds = thresholds or DifficultyThresholds()
        self.vocabulary = (
            list(vocabulary)
            if vocabulary is not None
            else (list(predictor.vocabulary) if predictor is not None else None)
        )
        self.n_skills = n_skills

    def judge(self, feedback: Feedback) -> Judgement | None:
        """The verdict from the strongest evidence present: the caller's flag, step scores,
        sampled answers, then confidence. None when the feedback holds no evidence."""
        t = self.thresholds
        if feedback.difficult is not None:
            verdict = "difficult" if feedback.difficult else "easy"
            return Judgement(feedback.difficult, "caller", f"{verdict}: the caller says so")
        if feedback.step_scores is not None:
            return CallerScoreJudge(t).judge(feedback.step_scores)
        if feedback.samples is not None:
            return SelfConsistencyJudge(t).judge(feedback.samples, first_answer=feedback.first_answer)
        if feedback.confidence is not None or feedback.token_logprobs is not None:
            return ConfidenceJudge(t).judge(feedback.confidence, token_logprobs=feedback.token_logprobs)
        return None

    def decide(self, query: str, feedback: Feedback | Mapping[str, Any] | None) -> Decision:
        feedback = Feedback.from_dict(feedback) if not isinstance(feedback, Feedback) else feedback
        if feedback is None:
            return Decision("first_pass", "no feedback: the default demonstrations (stage 1)")
        judgement = self.judge(feedback)
        missing = (
            check_skills(feedback.missing_skills, self.vocabulary, what="feedback.missing_skills")
            if feedback.missing_skills
            else []
        )
        if judgement is not None and not judgement.difficult:
            note = f"; missing skills {missing} not used" if missing else ""
            return Decision("easy", judgement.reason + " -> default demonstrations" + note, judgement=judgement)
        lead = judgement.reason + "; " if judgement is not None else ""
        if missing:
            source = feedback.missing_skills_source or "caller"
            return Decision(
                "adaptmi_plus",
                f"{lead}AdaptMI+: demonstrations for the missing skills "
                f"{', '.join(missing)} named by {'the ' if source == 'caller' else ''}{source}",
                tuple(missing),
                source,
                judgement,
            )
        if judgement is None:
            raise InvalidInputError(
                "feedback holds nothing to judge: give step_scores, confidence, "
                "token_logprobs, samples, difficult or missing_skills"
            )
        if self.predictor is None:
            return Decision("difficult", f"{lead}no skill predictor -> default demonstrations", (), None, judgement)
        skills = self.predictor.predict([query], top=self.n_skills)[0]
        if not skills:
            return Decision(
                "difficult",
                f"{lead}no skill could be predicted ({self.predictor.name}) -> default demonstrations",
                (),
                None,
                judgement,
            )
        return Decision(
            "difficult",
            f"{lead}AdaptMI: demonstrations for the predicted skills {', '.join(skills)} ({self.predictor.name})",
            tuple(skills),
            f"predicted:{self.predictor.name}",
            judgement,
        )
