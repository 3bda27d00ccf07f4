"""`AdaptivePrompter` (policy + retriever + prompt builder, in memory) and `run_two_pass`
(model -> judge -> rebuilt prompt -> model)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fewshot.adaptive._policy import AdaptivePolicy, Decision, Feedback, skill_demonstrations
from fewshot.exceptions import InvalidInputError

__all__ = ["TWO_PASS_JUDGES", "AdaptivePrompt", "AdaptivePrompter", "TwoPassResult", "run_two_pass", "DEFAULT_STOP"]

#: The judges `run_two_pass` can apply to the first answer.
TWO_PASS_JUDGES = ("confidence", "consistency", "scores")

logger = logging.getLogger(__name__)

_FLOOR = -1e4  # the lowest token log-prob a confidence is computed from

#: Where a GSM8K-style answer ends (the harness's stop strings).
DEFAULT_STOP = ("\n\nQuestion:", "\nQuestion:", "\n\n")


@dataclass(frozen=True)
class AdaptivePrompt:
    """A built prompt (`fewshot.prompt.BuiltPrompt`) with the decision that chose its demonstrations."""

    prompt: Any
    decision: Decision
    demos: list[Any]
    prompt_id: str | None = None

    @property
    def text(self) -> str:
        return self.prompt.text


class AdaptivePrompter:
    """AdaptMI prompts from an in-memory retriever.

    Parameters
    ----------
    retriever : a retriever over skill-labeled items (`DenseRetriever` for similarity ranking)
    builder : PromptBuilder (its ``k`` is the number of demonstrations)
    policy : AdaptivePolicy
    default : callable(query) -> demonstrations, or a fixed list, optional
        Stage-1 / easy demonstrations. Default: the retriever's top ``k``.
    """

    def __init__(
        self,
        retriever: Any,
        builder: Any,
        policy: AdaptivePolicy,
        *,
        default: Callable[[str], Sequence[Any]] | Sequence[Any] | None = None,
    ) -> None:
        if builder.k is None or builder.k < 1:
            raise InvalidInputError("the prompt builder needs k >= 1 demonstrations for adaptive prompts")
        self.retriever, self.builder, self.policy, self.default = retriever, builder, policy, default

    @property
    def k(self) -> int:
        return int(self.builder.k)

    def default_demos(self, query: str) -> list[Any]:
        if self.default is None:
            return self.retriever.retrieve([query], self.k)[0]
        if callable(self.default):
            return list(self.default(query))
        return list(self.default)

    def demonstrations(self, query: str, decision: Decision) -> list[Any]:
        if decision.uses_skills:
            return skill_demonstrations(self.retriever, query, decision.skills, self.k)
        return self.default_demos(query)

    def build(self, query: str, feedback: Feedback | Mapping[str, Any] | None = None) -> AdaptivePrompt:
        decision = self.policy.decide(query, feedback)
        demos = self.demonstrations(query, decision)
        return AdaptivePrompt(self.builder.build(query, demos), decision, demos)


@dataclass(frozen=True)
class TwoPassResult:
    """The outcome of `run_two_pass`.

    answer : the final answer (the first one when the query was judged easy).
    regenerated : whether a second prompt was sent.
    """

    answer: str
    first_answer: str
    first_prompt: str
    final_prompt: str
    decision: Decision
    feedback: Feedback
    regenerated: bool
    prompt_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "first_answer": self.first_answer,
            "regenerated": self.regenerated,
            "decision": self.decision.to_dict(),
            "feedback": self.feedback.to_dict(),
            "first_prompt": self.first_prompt,
            "final_prompt": self.final_prompt,
            "prompt_ids": self.prompt_ids,
        }


#: ``build(feedback) -> AdaptivePrompt``: stage 1 with None, stage 2 with the feedback.
BuildFn = Callable[[Feedback | None], AdaptivePrompt]


def run_two_pass(
    lm: Any,
    build: BuildFn | AdaptivePrompter,
    query: str | None = None,
    *,
    judge: str = "confidence",
    n_samples: int = 3,
    temperature: float = 0.7,
    seed: int = 0,
    max_new_tokens: int = 256,
    stop: Sequence[str] = DEFAULT_STOP,
    step_scorer: Callable[[str, str], Sequence[float]] | None = None,
    missing_skills: Callable[[str, str], Sequence[str]] | None = None,
    missing_skills_source: str = "namer",
) -> TwoPassResult:
    """Answer with the stage-1 prompt, judge the answer, and answer again from the adaptive
    prompt when the query is difficult.

    Parameters
    ----------
    lm : LMBackend
    build : AdaptivePrompter (with ``query``) or a function ``feedback -> AdaptivePrompt``
        (the service layer passes one that logs each prompt).
    judge : "confidence" (mean token log-prob of the first answer), "consistency" (``n_samples``
        answers sampled at ``temperature`` with ``seed``), or "scores" (``step_scorer(query,
        answer)`` returns step scores, e.g. from a reward model).
    missing_skills : callable(query, answer) -> skills, optional
        AdaptMI+: asked only when the query is judged difficult; its skills drive the choice.
    missing_skills_source : str
        Recorded as the decision's ``skill_source`` for those skills (e.g. "lm", "predicted:knn").
    """
    if isinstance(build, AdaptivePrompter):
        if query is None:
            raise InvalidInputError("run_two_pass with an AdaptivePrompter needs the query")
        prompter, q = build, query

        def build(feedback: Feedback | None) -> AdaptivePrompt:  # noqa: F811
            return prompter.build(q, feedback)

    if judge not in TWO_PASS_JUDGES:
        raise InvalidInputError(f"judge must be one of {', '.join(TWO_PASS_JUDGES)}, got {judge!r}")
    if judge == "scores" and step_scorer is None:
        raise InvalidInputError("judge='scores' needs a step_scorer(query, answer) -> step scores")
    first = build(None)
    gen = lm.generate([first.text], max_new_tokens=max_new_tokens, stop=list(stop))[0]
    feedback = Feedback(first_answer=gen.text)
    if judge == "confidence":
        # an empty or -inf log-prob (a token the model deemed impossible) reads as no confidence at all
        lps = tuple(max(lp, _FLOOR) if math.isfinite(lp) else _FLOOR for lp in gen.token_logprobs)
        feedback = replace(feedback, token_logprobs=lps or (_FLOOR,))
    elif judge == "consistency":
        samples = lm.generate(
            [first.text],
            max_new_tokens=max_new_tokens,
            stop=list(stop),
            temperature=temperature,
            seed=seed,
            n=n_samples,
        )
        feedback = replace(feedback, samples=tuple(s.text for s in samples))
    else:
        feedback = replace(feedback, step_scores=tuple(step_scorer(query or "", gen.text)))  # type: ignore[misc]
    second = build(feedback)
    ids = [p for p in (first.prompt_id, second.prompt_id) if p]
    if second.decision.branch == "difficult" and missing_skills is not None:
        named = [s for s in missing_skills(query or "", gen.text) if s]
        if named:
            feedback = replace(feedback, missing_skills=tuple(named), missing_skills_source=missing_skills_source)
            second = build(feedback)
            if second.prompt_id:
                ids.append(second.prompt_id)
    if second.decision.branch == "easy":
        return TwoPassResult(gen.text, gen.text, first.text, first.text, second.decision, feedback, False, ids)
    final = lm.generate([second.text], max_new_tokens=max_new_tokens, stop=list(stop))[0]
    return TwoPassResult(final.text, gen.text, first.text, second.text, second.decision, feedback, True, ids)
