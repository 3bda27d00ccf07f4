"""Difficulty judges: is a query difficult for the model? (AdaptMI's gate, SPEC 6)

* `CallerScoreJudge` -- step scores the caller supplies (their process reward model): difficult
  when the final score <= 0.85, or the mean <= 0.85, or any step after the first <= 0.7 (the
  paper's thresholds, the defaults of `DifficultyThresholds`).
* `ConfidenceJudge` -- the LM's own confidence in its first answer: difficult when the mean token
  log-prob of that answer is at or below a threshold.
* `SelfConsistencyJudge` -- several sampled answers: difficult when too few agree with the first
  answer's final number (or, without a first answer, with their majority).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fewshot.exceptions import InvalidInputError

__all__ = ["DifficultyThresholds", "Judgement", "CallerScoreJudge", "ConfidenceJudge", "SelfConsistencyJudge", "JUDGES"]

#: Judge names (feedback kinds, CLI/API options).
JUDGES = ("scores", "confidence", "consistency", "caller")


@dataclass(frozen=True)
class DifficultyThresholds:
    """Thresholds of the difficulty judges (per pool, in ``Pool.settings["difficulty"]``).

    final, mean, step : caller step scores: difficult if final <= ``final``, mean <= ``mean`` or
        any step after the first <= ``step``.
    confidence : difficult if the first answer's mean token log-prob <= this.
    consistency : difficult if the share of sampled answers agreeing with the first answer is
        below this.
    """

    final: float = 0.85
    mean: float = 0.85
    step: float = 0.7
    confidence: float = -0.5
    consistency: float = 0.5

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | None, *, base: DifficultyThresholds | None = None
    ) -> DifficultyThresholds:
        """Thresholds from a mapping (missing keys keep ``base``'s values); names a bad key or value."""
        base = base or cls()
        if data is None:
            return base
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"difficulty thresholds must be an object, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown difficulty threshold(s) {unknown}; known: {sorted(known)}")
        values = asdict(base)
        for k, v in data.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InvalidInputError(f"difficulty threshold {k!r} must be a finite number, got {v!r}")
            values[k] = float(v)
        return cls(**values)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Judgement:
    """A judge's verdict: ``difficult``, which ``judge``, a one-line ``reason``, its ``score``."""

    difficult: bool
    judge: str
    reason: str
    score: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "difficult": self.difficult,
            "judge": self.judge,
            "reason": self.reason,
            "score": self.score,
            "details": dict(self.details),
        }


def _numbers(values: Sequence[Any], what: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise InvalidInputError(f"{what} must be a non-empty list of numbers")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InvalidInputError(f"{what}[{i}] must be a finite number, got {v!r}")
        out.append(float(v))
    return out


class CallerScoreJudge:
    """The paper's PRM rule over step scores the caller supplies."""

    name = "scores"

    def __init__(self, thresholds: DifficultyThresholds | None = None) -> None:
        self.t = thresholds or DifficultyThresholds()

    def judge(self, step_scores: Sequence[float]) -> Judgement:
        s = _numbers(step_scores, "step_scores")
        final, mean = s[-1], math.fsum(s) / len(s)
        low = [(i, v) for i, v in enumerate(s) if i > 0 and v <= self.t.step]
        why = []
        if final <= self.t.final:
            why.append(f"final step score {final:.3g} <= {self.t.final:g}")
        if mean <= self.t.mean:
            why.append(f"mean step score {mean:.3g} <= {self.t.mean:g}")
        if low:
            i, v = low[0]
            why.append(f"step {i + 1} score {v:.3g} <= {self.t.step:g}")
        details = {"final": final, "mean": mean, "n_steps": len(s), "low_steps": [i + 1 for i, _ in low]}
        if why:
            return Judgement(True, self.name, "difficult: " + ", ".join(why), mean, details)
        return Judgement(
            False,
            self.name,
            f"easy: final step score {final:.3g} > {self.t.final:g}, mean "
            f"{mean:.3g} > {self.t.mean:g}, no later step <= {self.t.step:g}",
            mean,
            details,
        )


class ConfidenceJudge:
    """Difficult when the first answer's mean token log-prob is at or below ``thresholds.confidence``."""

    name = "confidence"

    def __init__(self, thresholds: DifficultyThresholds | None = None) -> None:
        self.t = thresholds or DifficultyThresholds()

    def judge(self, confidence: float | None = None, *, token_logprobs: Sequence[float] | None = None) -> Judgement:
        if confidence is None:
            if token_logprobs is None:
                raise InvalidInputError("the confidence judge needs the first answer's confidence or token_logprobs")
            lp = _numbers(token_logprobs, "token_logprobs")
            confidence = math.fsum(lp) / len(lp)
        else:
            confidence = _numbers([confidence], "confidence")[0]
        details = {"mean_logprob": confidence, "threshold": self.t.confidence}
        if confidence <= self.t.confidence:
            return Judgement(
                True,
                self.name,
                f"difficult: first answer's mean token log-prob {confidence:.3f} <= {self.t.confidence:g}",
                confidence,
                details,
            )
        return Judgement(
            False,
            self.name,
            f"easy: first answer's mean token log-prob {confidence:.3f} > {self.t.confidence:g}",
            confidence,
            details,
        )


def _default_extract(text: str) -> str | None:
    from fewshot.prompt import extract_answer

    return extract_answer(text)


class SelfConsistencyJudge:
    """Agreement of sampled answers' final answers (by ``extract``, default: GSM8K's last number)."""

    name = "consistency"

    def __init__(
        self, thresholds: DifficultyThresholds | None = None, *, extract: Callable[[str], str | None] | None = None
    ) -> None:
        self.t = thresholds or DifficultyThresholds()
        self.extract = extract or _default_extract

    def judge(self, samples: Sequence[str], *, first_answer: str | None = None) -> Judgement:
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Sequence) or not samples:
            raise InvalidInputError("samples must be a non-empty list of sampled answers")
        for i, s in enumerate(samples):
            if not isinstance(s, str):
                raise InvalidInputError(f"samples[{i}] must be a string, got {s!r}")
        finals = [self.extract(s) for s in samples]
        if first_answer is not None:
            target, against = self.extract(first_answer), "the first answer"
        else:
            counted = Counter(f for f in finals if f is not None)
            target, against = (counted.most_common(1)[0][0] if counted else None), "their majority"
        agree = sum(1 for f in finals if f is not None and f == target) / len(finals)
        details = {"answers": finals, "target": target, "agreement": agree, "threshold": self.t.consistency}
        text = f"{agree:.2f} of {len(finals)} sampled answers agree with {against} ({target!r})"
        if agree < self.t.consistency:
            return Judgement(True, self.name, f"difficult: {text} < {self.t.consistency:g}", agree, details)
        return Judgement(False, self.name, f"easy: {text} >= {self.t.consistency:g}", agree, details)
