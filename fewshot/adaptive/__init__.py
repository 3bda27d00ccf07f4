"""fewshot.adaptive: skill-adaptive demonstrations (AdaptMI / AdaptMI+, SPEC 6).

Small models get worse on easy questions when their prompt is stuffed with skill-specific
examples, and better on hard ones. The policy gives skill-based demonstrations only when a judge
says the model struggles:

* skills: `check_skills`, `parse_skills`, `vocabulary_from` (the pool's vocabulary);
* skill prediction: `KNNSkillPredictor` (neighbour vote), `LogisticSkillPredictor` (scikit-learn
  on embeddings), `LMSkillPredictor` (an LLM prompted with the vocabulary, answer parsed);
* judges: `CallerScoreJudge` (the caller's step scores; the paper's PRM thresholds),
  `ConfidenceJudge` (mean token log-prob of the first answer), `SelfConsistencyJudge`;
* `AdaptivePolicy.decide(query, feedback) -> Decision` (branch + reason + skills) and
  `skill_demonstrations` (one per skill, filled from the first skill, similarity-ranked);
* `AdaptivePrompter` (in memory) and `run_two_pass` (model -> judge -> rebuilt prompt).

The service layer (`Workspace.adaptive_prompt`, `Workspace.two_pass`) runs the same policy over a
pool, for the CLI (``fewshot skills ...``, ``fewshot adaptive ...``) and ``POST /v1/prompts``.
"""

from fewshot.adaptive._judges import (
    JUDGES,
    CallerScoreJudge,
    ConfidenceJudge,
    DifficultyThresholds,
    Judgement,
    SelfConsistencyJudge,
)
from fewshot.adaptive._policy import BRANCHES, AdaptivePolicy, Decision, Feedback, skill_demonstrations
from fewshot.adaptive._predict import (
    PREDICTORS,
    KNNSkillPredictor,
    LMSkillPredictor,
    LogisticSkillPredictor,
    SkillPredictor,
    chat_wrapper,
    skill_accuracy,
)
from fewshot.adaptive._prompter import (
    DEFAULT_STOP,
    TWO_PASS_JUDGES,
    AdaptivePrompt,
    AdaptivePrompter,
    TwoPassResult,
    run_two_pass,
)
from fewshot.adaptive._skills import check_skills, normalize_skill, parse_skills, skill_counts, vocabulary_from

__all__ = [
    "AdaptivePolicy",
    "AdaptivePrompt",
    "AdaptivePrompter",
    "BRANCHES",
    "CallerScoreJudge",
    "ConfidenceJudge",
    "DEFAULT_STOP",
    "TWO_PASS_JUDGES",
    "Decision",
    "DifficultyThresholds",
    "Feedback",
    "JUDGES",
    "Judgement",
    "KNNSkillPredictor",
    "LMSkillPredictor",
    "LogisticSkillPredictor",
    "PREDICTORS",
    "SelfConsistencyJudge",
    "SkillPredictor",
    "TwoPassResult",
    "chat_wrapper",
    "check_skills",
    "normalize_skill",
    "parse_skills",
    "run_two_pass",
    "skill_accuracy",
    "skill_counts",
    "skill_demonstrations",
    "vocabulary_from",
]
