"""run_two_pass with a real (tiny, random) GPT-2: model -> judge -> rebuilt prompt -> model, for
the confidence, self-consistency and caller-score judges, AdaptMI and AdaptMI+."""

from __future__ import annotations

import pytest

from fewshot.adaptive import (
    AdaptivePolicy,
    AdaptivePrompter,
    DifficultyThresholds,
    KNNSkillPredictor,
    run_two_pass,
)
from fewshot.evaluation._scoring import lm_token_counter
from fewshot.prompt import PromptBuilder, get_template


@pytest.fixture(scope="module")
def make(gsm_retriever, tiny_lm):
    predictor = KNNSkillPredictor(gsm_retriever)

    def prompter(**thresholds):
        builder = PromptBuilder(
            get_template("math"), lm_token_counter(tiny_lm), max_tokens=1500, k=2, reserve_tokens=10
        )
        fixed = [gsm_retriever.corpus.get("train-0"), gsm_retriever.corpus.get("train-1")]
        return AdaptivePrompter(
            gsm_retriever,
            builder,
            AdaptivePolicy(predictor, thresholds=DifficultyThresholds(**thresholds)),
            default=fixed,
        )

    return prompter


def _skills_of(retriever, prompt_text):
    return [set(e.skills) for e in retriever.corpus if e.text in prompt_text]


def test_confidence_judge_both_branches(make, tiny_lm, gsm_retriever, gsm_test):
    q = gsm_test[0]["question"]
    hard = run_two_pass(tiny_lm, make(confidence=0.0), q, judge="confidence", max_new_tokens=6)
    assert hard.decision.branch == "difficult" and hard.regenerated
    assert hard.decision.judgement.judge == "confidence" and hard.decision.judgement.score <= 0.0
    assert hard.first_prompt != hard.final_prompt
    skill = hard.decision.skills[0]
    demos = _skills_of(gsm_retriever, hard.final_prompt.split("Question: " + q)[0])
    assert len(demos) == 2 and all(skill in s for s in demos)
    easy = run_two_pass(tiny_lm, make(confidence=-1e9), q, judge="confidence", max_new_tokens=6)
    assert easy.decision.branch == "easy" and not easy.regenerated
    assert easy.answer == easy.first_answer == hard.first_answer  # greedy: the same first answer
    assert easy.final_prompt == easy.first_prompt


def test_self_consistency_judge_both_branches(make, tiny_lm, gsm_test):
    q = gsm_test[1]["question"]
    hard = run_two_pass(tiny_lm, make(consistency=1.01), q, judge="consistency", n_samples=3, max_new_tokens=6)
    assert hard.decision.branch == "difficult" and len(hard.feedback.samples) == 3 and hard.regenerated
    easy = run_two_pass(tiny_lm, make(consistency=0.0), q, judge="consistency", n_samples=3, max_new_tokens=6)
    assert easy.decision.branch == "easy" and easy.answer == easy.first_answer
    assert easy.feedback.samples == hard.feedback.samples  # seeded sampling


def test_caller_scores_and_adaptmi_plus(make, tiny_lm, gsm_retriever, gsm_test):
    q = gsm_test[2]["question"]
    asked = []

    def missing(query, answer):
        asked.append(answer)
        return ["fractions"]

    easy = run_two_pass(
        tiny_lm,
        make(),
        q,
        judge="scores",
        step_scorer=lambda q, a: [0.99, 0.97],
        missing_skills=missing,
        max_new_tokens=6,
    )
    assert easy.decision.branch == "easy" and asked == []  # missing skills are asked only when difficult
    plus = run_two_pass(
        tiny_lm,
        make(),
        q,
        judge="scores",
        step_scorer=lambda q, a: [0.9, 0.4],
        missing_skills=missing,
        max_new_tokens=6,
    )
    assert plus.decision.branch == "adaptmi_plus" and plus.decision.skills == ("fractions",)
    assert asked == [plus.first_answer] and plus.feedback.step_scores == (0.9, 0.4)
    demos = _skills_of(gsm_retriever, plus.final_prompt.split("Question: " + q)[0])
    assert len(demos) == 2 and all("fractions" in s for s in demos)
    with pytest.raises(Exception, match="needs a step_scorer"):
        run_two_pass(tiny_lm, make(), q, judge="scores")
