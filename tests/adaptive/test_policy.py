"""The AdaptMI policy on real GSM8K slices: skills, judges, skill demonstrations, every branch."""

from __future__ import annotations

import pytest

from fewshot.adaptive import (
    AdaptivePolicy,
    CallerScoreJudge,
    ConfidenceJudge,
    DifficultyThresholds,
    Feedback,
    KNNSkillPredictor,
    LogisticSkillPredictor,
    SelfConsistencyJudge,
    check_skills,
    parse_skills,
    skill_accuracy,
    skill_demonstrations,
    vocabulary_from,
)
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import Filter


# ----------------------------------------------------------------------------- skills
def test_vocabulary_and_checks(gsm_train):
    vocab = vocabulary_from(r["skills"] for r in gsm_train)
    assert len(vocab) == 13 and vocab[0] == "multiplication"  # the most frequent first
    assert check_skills(["Time Speed Distance", "percentage", "percentage"], vocab) == [
        "time_speed_distance",
        "percentage",
    ]
    with pytest.raises(InvalidInputError, match="unknown skill 'percentages'.*did you mean percentage"):
        check_skills(["percentages"], vocab)
    with pytest.raises(InvalidInputError, match="non-empty"):
        check_skills([""], vocab)


def test_parse_skills_against_the_vocabulary(gsm_train):
    vocab = vocabulary_from(r["skills"] for r in gsm_train)
    assert parse_skills(" percentage\nQuestion: ...", vocab) == ["percentage"]
    assert parse_skills("The skill is basic arithmetics.", vocab) == ["basic_arithmetics"]
    # "arithmetics" alone is inside "basic_arithmetics"/"advanced_arithmetics": only the longer name counts
    assert parse_skills("advanced_arithmetics", vocab) == ["advanced_arithmetics"]
    assert parse_skills("Divison, ratio-proportion", vocab) == ["division", "ratio_proportion"]
    assert parse_skills("I think it is about cooking", vocab) == []


# ----------------------------------------------------------------------------- judges
@pytest.mark.parametrize(
    "scores, difficult, why",
    [
        ([0.95, 0.9, 0.9], False, "easy"),
        ([0.95, 0.9, 0.85], True, "final step score 0.85 <= 0.85"),
        ([0.9, 0.7, 0.99], True, "step 2 score 0.7 <= 0.7"),
        ([0.5, 0.99, 0.99, 0.99], False, "easy"),  # the first step is exempt and the mean is 0.87
        ([0.6, 0.9, 0.9], True, "mean step score 0.8 <= 0.85"),
    ],
)
def test_caller_score_judge_uses_the_paper_thresholds(scores, difficult, why):
    j = CallerScoreJudge().judge(scores)
    assert j.difficult is difficult and why in j.reason and j.judge == "scores"


def test_judges_thresholds_and_errors():
    strict = DifficultyThresholds.from_dict({"final": 0.95})
    assert CallerScoreJudge(strict).judge([0.9, 0.9, 0.9]).difficult
    with pytest.raises(InvalidInputError, match=r"step_scores\[1\] must be a finite number"):
        CallerScoreJudge().judge([0.9, "high"])
    with pytest.raises(InvalidInputError, match="unknown difficulty threshold"):
        DifficultyThresholds.from_dict({"finale": 0.9})
    assert ConfidenceJudge().judge(token_logprobs=[-0.1, -0.2]).difficult is False
    assert ConfidenceJudge().judge(-0.9).difficult is True
    sc = SelfConsistencyJudge()
    agree = sc.judge(["so 18.\n#### 18", "#### 18", "it is 20"], first_answer="#### 18")
    assert not agree.difficult and agree.score == pytest.approx(2 / 3)
    split = sc.judge(["#### 3", "#### 4", "#### 18"], first_answer="#### 18")
    assert split.difficult and "0.33 of 3" in split.reason


def test_feedback_from_dict_names_bad_fields():
    fb = Feedback.from_dict({"first_answer": "x", "step_scores": [1, 0.5], "missing_skills": "percentage"})
    assert fb.step_scores == (1.0, 0.5) and fb.missing_skills == ("percentage",)
    with pytest.raises(InvalidInputError, match="unknown feedback field"):
        Feedback.from_dict({"scores": [0.1]})
    with pytest.raises(InvalidInputError, match="feedback.step_scores"):
        Feedback.from_dict({"step_scores": [0.1, None]})


# ------------------------------------------------------------------ skill demonstrations
def test_skill_demonstrations_cover_each_skill_then_fill_from_the_first(gsm_retriever, gsm_test):
    q = gsm_test[0]["question"]
    skills = ["percentage", "division", "fractions"]
    demos = skill_demonstrations(gsm_retriever, q, skills, 5)
    assert len(demos) == 5 and len({d.id for d in demos}) == 5
    for s in skills:  # at least one per skill: its most similar item
        best = gsm_retriever.retrieve([q], 1, filter=Filter(skills=[s]))[0][0]
        assert best.id in {d.id for d in demos}
    # the two extra slots come from the first skill's ranking, in order
    first = [d.id for d in gsm_retriever.retrieve([q], 3, filter=Filter(skills=["percentage"]))[0]]
    assert set(first) <= {d.id for d in demos}
    assert [d.score for d in demos] == sorted((d.score for d in demos), reverse=True)
    assert [d.rank for d in demos] == list(range(5))
    # more skills than slots: the first k skills, one each
    many = vocabulary_from(r.skills for r in gsm_retriever.corpus)[:6]
    got = skill_demonstrations(gsm_retriever, q, many, 4)
    assert {s for d in got for s in d.example.skills} == set(many[:4])


# ------------------------------------------------------------------------ skill predictors
def test_knn_vote_and_logreg_on_gsm8k(gsm_retriever, gsm_test, gsm_train):
    knn = KNNSkillPredictor(gsm_retriever, n_neighbors=8)
    q = gsm_test[5]["question"]
    votes: dict[str, float] = {}
    for d in gsm_retriever.retrieve([q], 8)[0]:  # the vote by hand
        for s in d.example.skills:
            votes[s] = votes.get(s, 0.0) + max(d.score, 0.0)
    assert knn.predict(q, top=2)[0] == sorted(votes, key=lambda s: -votes[s])[:2]
    logreg = LogisticSkillPredictor.from_retriever(gsm_retriever)
    assert set(logreg.classes) == set(knn.vocabulary)
    qs, gold = [r["question"] for r in gsm_train[:60]], [r["skills"] for r in gsm_train[:60]]
    assert skill_accuracy(logreg.predict(qs), gold) > 0.8  # it fits its own training items
    with pytest.raises(InvalidInputError, match="top must be an int >= 1"):
        knn.predict(q, top=0)


@pytest.mark.slow
def test_skill_predictors_beat_the_majority_skill_on_held_out_math(math_slice, encoder):
    from fewshot.retrieve import Corpus, DenseRetriever, Example

    pool = Corpus(Example(id=r["id"], text=r["problem"], skills=tuple(r["skills"])) for r in math_slice[:240])
    retr = DenseRetriever(pool, encoder, kind="flat")
    held = math_slice[240:]
    qs, gold = [r["problem"] for r in held], [r["skills"] for r in held]
    majority = max(sum(s in g for g in gold) for s in vocabulary_from(e.skills for e in pool)) / len(gold)
    knn = KNNSkillPredictor(retr, n_neighbors=10)
    logreg = LogisticSkillPredictor.from_retriever(retr)
    acc_knn, acc_lr = skill_accuracy(knn.predict(qs), gold), skill_accuracy(logreg.predict(qs), gold)
    assert acc_knn > 1.5 * majority and acc_lr > 1.5 * majority, (acc_knn, acc_lr, majority)
    top3 = knn.predict(qs[:5], top=3)
    assert all(1 <= len(p) <= 3 and set(p) <= set(knn.vocabulary) for p in top3)
    assert skill_accuracy(knn.predict(qs, top=3), gold) == acc_knn  # accuracy reads the first skill only


# ------------------------------------------------------------------------------ branches
@pytest.fixture(scope="module")
def policy(gsm_retriever):
    return AdaptivePolicy(KNNSkillPredictor(gsm_retriever))


def test_first_pass_and_easy_branches(policy, gsm_test):
    q = gsm_test[1]["question"]
    assert policy.decide(q, None).branch == "first_pass"
    d = policy.decide(q, {"first_answer": "#### 3", "step_scores": [0.97, 0.93, 0.91]})
    assert d.branch == "easy" and not d.skills and d.judgement.judge == "scores"
    assert "easy: final step score 0.91 > 0.85" in d.reason
    # a caller-named missing skill does not override an easy verdict; the reason says so
    d = policy.decide(q, {"step_scores": [0.97, 0.93, 0.91], "missing_skills": ["division"]})
    assert d.branch == "easy" and "not used" in d.reason


def test_difficult_branch_uses_predicted_skills(policy, gsm_test):
    q = gsm_test[2]["question"]
    d = policy.decide(q, {"first_answer": "#### 12", "step_scores": [0.9, 0.4, 0.3]})
    assert d.branch == "difficult" and d.skill_source == "predicted:knn"
    assert list(d.skills) == policy.predictor.predict([q])[0]
    assert "final step score 0.3 <= 0.85" in d.reason and d.skills[0] in d.reason


def test_adaptmi_plus_uses_caller_named_skills(policy, gsm_test):
    q = gsm_test[3]["question"]
    d = policy.decide(q, {"difficult": True, "missing_skills": ["Ratio Proportion", "fractions"]})
    assert d.branch == "adaptmi_plus" and d.skills == ("ratio_proportion", "fractions")
    assert d.skill_source == "caller"
    d = policy.decide(q, {"missing_skills": ["fractions"]})  # no verdict: naming missing skills is enough
    assert d.branch == "adaptmi_plus"
    with pytest.raises(InvalidInputError, match="unknown skill 'cooking'"):
        policy.decide(q, {"difficult": True, "missing_skills": ["cooking"]})
    with pytest.raises(InvalidInputError, match="nothing to judge"):
        policy.decide(q, {"first_answer": "#### 1"})


def test_lm_skill_predictor_prompts_and_parses(gsm_retriever, gsm_test, tiny_lm):
    from fewshot.adaptive import LMSkillPredictor

    vocab = vocabulary_from(e.skills for e in gsm_retriever.corpus)
    q = gsm_test[0]["question"]
    lmp = LMSkillPredictor(tiny_lm, vocab, shot_retriever=gsm_retriever, n_shots=2, max_new_tokens=4)
    prompt = lmp.prompt(q)
    assert all(f"- {s}" in prompt for s in vocab) and prompt.endswith(f"Question: {q}\nSkill:")
    near = gsm_retriever.retrieve([q], 2, filter=Filter(skills=vocab))[0]
    assert prompt.count("\nSkill: ") == 2 and f"{near[0].text}\nSkill: {near[0].example.skills[0]}" in prompt
    missing = lmp.prompt(q, "#### 7")
    assert "Student's answer: #### 7\nMissing skill:" in missing
    preds = lmp.predict([q, gsm_test[1]["question"]])
    # a random tiny model rarely names a skill: whatever it says is parsed against the vocabulary
    assert len(preds) == 2 and all(set(p) <= set(vocab) and len(p) <= 1 for p in preds)
    assert lmp.n_unparsed == sum(not p for p in preds) and len(lmp.raw) == 2
