"""Skill prediction for queries: nearest-neighbour vote, logistic regression on embeddings, or an
LLM prompted with the pool's skill vocabulary (AdaptMI's skill classifier, SPEC 6)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from fewshot.adaptive._skills import parse_skills, vocabulary_from
from fewshot.exceptions import InvalidInputError
from fewshot.registry import Registry
from fewshot.retrieve import Filter

__all__ = [
    "SkillPredictor",
    "KNNSkillPredictor",
    "LogisticSkillPredictor",
    "LMSkillPredictor",
    "PREDICTORS",
    "skill_accuracy",
    "chat_wrapper",
]

logger = logging.getLogger(__name__)

#: Skill predictor classes by name (filled at the end of this module). Every surface that picks a
#: predictor by name (service, CLI, API) reads this registry; a registered class needs a
#: ``for_pool(retriever, vocabulary, *, lm=None, **params)`` classmethod and ``needs_lm``.
PREDICTORS: Registry[type[SkillPredictor]] = Registry("skill predictor")


def _check_top(top: int) -> int:
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InvalidInputError(f"top must be an int >= 1, got {top!r}")
    return top


def _as_queries(queries: Sequence[str] | str) -> list[str]:
    qs = [queries] if isinstance(queries, str) else list(queries)
    for i, q in enumerate(qs):
        if not isinstance(q, str) or not q.strip():
            raise InvalidInputError(f"query {i} must be a non-empty string")
    return qs


class SkillPredictor(ABC):
    """Names the skills a query needs, from a fixed vocabulary."""

    name: ClassVar[str] = "base"
    #: True when `for_pool` needs an LM backend (``lm=``).
    needs_lm: ClassVar[bool] = False
    vocabulary: list[str]

    @classmethod
    def for_pool(cls, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, **params: Any) -> SkillPredictor:
        """The predictor for a pool: ``retriever`` is the pool's `DenseRetriever` over its labeled
        items, ``vocabulary`` its skills, ``lm`` an LM backend (only when ``needs_lm``)."""
        raise NotImplementedError

    def predict(self, queries: Sequence[str] | str, *, top: int = 1) -> list[list[str]]:
        """Up to ``top`` skills per query, most likely first (``[]`` when none could be named)."""
        qs, top = _as_queries(queries), _check_top(top)
        return self._predict(qs, top) if qs else []

    @abstractmethod
    def _predict(self, queries: list[str], top: int) -> list[list[str]]: ...


def _skill_rows(examples: Sequence[Any]) -> tuple[np.ndarray, list[list[str]]]:
    rows, lists = [], []
    for i, ex in enumerate(examples):
        if ex.skills:
            rows.append(i)
            lists.append(list(ex.skills))
    return np.asarray(rows, dtype=np.int64), lists


class KNNSkillPredictor(SkillPredictor):
    """Similarity-weighted vote of the skills of the query's nearest skill-labeled items.

    Parameters
    ----------
    retriever : DenseRetriever (or any retriever with ``retrieve`` and a ``corpus``)
        Over the labeled pool; only items with at least one skill take part.
    n_neighbors : int
        Neighbours that vote; each adds its similarity (floored at 0) to each of its skills.
    vocabulary : list of str, optional
        Default: the skills present in the corpus.
    """

    name: ClassVar[str] = "knn"

    @classmethod
    def for_pool(
        cls, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, n_neighbors: int = 16, **params: Any
    ) -> KNNSkillPredictor:
        return cls(retriever, n_neighbors=n_neighbors, vocabulary=vocabulary)

    def __init__(self, retriever: Any, *, n_neighbors: int = 16, vocabulary: Sequence[str] | None = None) -> None:
        if not isinstance(n_neighbors, int) or n_neighbors < 1:
            raise InvalidInputError(f"n_neighbors must be an int >= 1, got {n_neighbors!r}")
        self.retriever = retriever
        self.n_neighbors = n_neighbors
        self.vocabulary = (
            list(vocabulary) if vocabulary is not None else vocabulary_from(ex.skills for ex in retriever.corpus)
        )
        if not self.vocabulary:
            raise InvalidInputError("no item of the pool has a skill label; label skills first")
        self._filter = Filter(skills=self.vocabulary)

    def scores(self, queries: Sequence[str]) -> list[dict[str, float]]:
        """Vote totals per skill for each query."""
        results = self.retriever.retrieve(list(queries), self.n_neighbors, filter=self._filter)
        out = []
        for demos in results:
            totals: dict[str, float] = {}
            for d in demos:
                for s in d.example.skills:
                    if s in self._filter.skills:  # type: ignore[operator]
                        totals[s] = totals.get(s, 0.0) + max(float(d.score), 0.0) + 1e-6
            out.append(totals)
        return out

    def _predict(self, queries: list[str], top: int) -> list[list[str]]:
        return [sorted(t, key=lambda s: -t[s])[:top] for t in self.scores(queries)]


class LogisticSkillPredictor(SkillPredictor):
    """A scikit-learn multinomial logistic regression on (L2-normalised) embeddings.

    An item with several skills is one training row per skill. ``encoder`` embeds queries (it
    must be the model the training vectors came from).
    """

    name: ClassVar[str] = "logreg"

    @classmethod
    def for_pool(
        cls, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, **params: Any
    ) -> LogisticSkillPredictor:
        return cls.from_retriever(retriever, vocabulary=vocabulary)

    def __init__(
        self,
        encoder: Any,
        X: np.ndarray,
        skill_lists: Sequence[Sequence[str]],
        *,
        C: float = 10.0,
        max_iter: int = 2000,
        seed: int = 0,
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[0] != len(skill_lists):
            raise InvalidInputError(f"X must have one row per skill list: {X.shape} vs {len(skill_lists)}")
        rows, ys = [], []
        for i, skills in enumerate(skill_lists):
            for s in skills or ():
                rows.append(i)
                ys.append(s)
        if len(set(ys)) < 2:
            raise InvalidInputError(
                f"a classifier needs at least 2 distinct skills among the items, got {sorted(set(ys))}"
            )
        self.encoder = encoder
        self.vocabulary = vocabulary_from(skill_lists)
        Z = _normalise(X[np.asarray(rows)])
        self.model = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
        self.model.fit(Z, np.asarray(ys))
        self.classes = [str(c) for c in self.model.classes_]

    @classmethod
    def from_retriever(
        cls, retriever: Any, *, vocabulary: Sequence[str] | None = None, **kw: Any
    ) -> LogisticSkillPredictor:
        """Train on a dense retriever's stored corpus vectors (nothing is embedded again); with
        ``vocabulary``, only on those skills (so only they are predicted)."""
        keys = retriever.corpus.keys()
        examples = retriever.corpus.examples_at(keys)
        rows, lists = _skill_rows(examples)
        if vocabulary is not None:
            allowed = set(vocabulary)
            lists = [[s for s in skills if s in allowed] for skills in lists]
            rows = rows[np.asarray([bool(skills) for skills in lists], dtype=bool)]
            lists = [skills for skills in lists if skills]
        if rows.size == 0:
            raise InvalidInputError("no item of the pool has a skill label; label skills first")
        retriever.sync()
        X = retriever.index.reconstruct(keys[rows])
        return cls(retriever.query_encoder, X, lists, **kw)

    def probabilities(self, queries: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(_normalise(self.encoder.encode(list(queries))))

    def _predict(self, queries: list[str], top: int) -> list[list[str]]:
        P = self.probabilities(queries)
        return [[self.classes[j] for j in np.argsort(-p, kind="stable")[:top]] for p in P]


def _normalise(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


class LMSkillPredictor(SkillPredictor):
    """Asks a language model which skills of the vocabulary a question needs, and parses its
    answer against the vocabulary (`parse_skills`). With ``answers`` (AdaptMI+), it is shown the
    model's failed answer and asked which skills that answer lacked.

    Parameters
    ----------
    lm : LMBackend
    vocabulary : list of str
    shots : sequence of (question, skill), optional
        Worked examples placed before the question (e.g. a few labeled pool items).
    shot_retriever : retriever over skill-labeled items, optional
        Instead of fixed shots: the ``n_shots`` items most similar to each question, with their
        first skill, least similar first.
    max_new_tokens : int
    wrap : callable(prompt) -> prompt, optional
        E.g. an instruction model's chat template (`chat_wrapper`).
    """

    name: ClassVar[str] = "lm"
    needs_lm: ClassVar[bool] = True

    @classmethod
    def for_pool(cls, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, **params: Any) -> LMSkillPredictor:
        if lm is None:
            raise InvalidInputError("the lm skill predictor needs an LM backend spec (e.g. smollm2)")
        return cls(lm, vocabulary, wrap=chat_wrapper(lm))

    INSTRUCTION = (
        "Classify math questions by the skill they need. Choose from this list of skills:\n{skills}\n"
        "Answer with one skill name from the list."
    )
    MISSING = (
        "A student answered a math question incorrectly. Choose from this list the skill the student's "
        "answer lacked:\n{skills}\nAnswer with one skill name from the list."
    )

    def __init__(
        self,
        lm: Any,
        vocabulary: Sequence[str],
        *,
        shots: Sequence[tuple[str, str]] = (),
        shot_retriever: Any = None,
        n_shots: int = 4,
        max_new_tokens: int = 16,
        max_answer_chars: int = 1200,
        wrap: Callable[[str], str] | None = None,
    ) -> None:
        if not vocabulary:
            raise InvalidInputError("an LM skill predictor needs a non-empty skill vocabulary")
        self.lm = lm
        self.vocabulary = list(vocabulary)
        self.shots = [(str(q), str(s)) for q, s in shots]
        self.shot_retriever = shot_retriever
        self.n_shots = n_shots
        self.max_new_tokens = max_new_tokens
        self.max_answer_chars = max_answer_chars
        self.wrap = wrap
        self.n_unparsed = 0
        self.raw: list[str] = []

    def _shots_for(self, question: str) -> list[tuple[str, str]]:
        if self.shot_retriever is None:
            return self.shots
        demos = self.shot_retriever.retrieve([question], self.n_shots, filter=Filter(skills=self.vocabulary))[0]
        return [(d.text, d.example.skills[0]) for d in reversed(demos)]

    def prompt(self, question: str, answer: str | None = None) -> str:
        skills = "\n".join(f"- {s}" for s in self.vocabulary)
        head = (self.MISSING if answer is not None else self.INSTRUCTION).format(skills=skills)
        blocks = [head] + [f"Question: {q}\nSkill: {s}" for q, s in self._shots_for(question)]
        if answer is not None:
            blocks.append(f"Question: {question}\nStudent's answer: {answer[: self.max_answer_chars]}\nMissing skill:")
        else:
            blocks.append(f"Question: {question}\nSkill:")
        return "\n\n".join(blocks)

    def _ask(self, prompts: list[str], top: int) -> list[list[str]]:
        if self.wrap is not None:
            prompts = [self.wrap(p) for p in prompts]
        gens = self.lm.generate(prompts, max_new_tokens=self.max_new_tokens, stop=["\n\n", "\nQuestion:"])
        out = []
        for g in gens:
            self.raw.append(g.text)
            skills = parse_skills(g.text, self.vocabulary, limit=top)
            if not skills:
                self.n_unparsed += 1
                logger.debug("LM skill answer %r names no known skill", g.text)
            out.append(skills)
        return out

    def _predict(self, queries: list[str], top: int) -> list[list[str]]:
        return self._ask([self.prompt(q) for q in queries], top)

    def missing_skills(self, questions: Sequence[str], answers: Sequence[str], *, top: int = 1) -> list[list[str]]:
        """The skills each failed ``answer`` lacked, as the LM names them (AdaptMI+)."""
        qs, top = _as_queries(questions), _check_top(top)
        if len(answers) != len(qs):
            raise InvalidInputError(f"got {len(answers)} answers for {len(qs)} questions")
        return self._ask([self.prompt(q, str(a)) for q, a in zip(qs, answers)], top)


def skill_accuracy(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> float:
    """Share of queries whose first predicted skill is among their gold skills (empty = wrong)."""
    if len(predicted) != len(gold):
        raise InvalidInputError(f"{len(predicted)} predictions for {len(gold)} gold skill lists")
    if not gold:
        return float("nan")
    return float(np.mean([bool(p) and p[0] in set(g) for p, g in zip(predicted, gold)]))


def chat_wrapper(lm: Any) -> Callable[[str], str] | None:
    """A function putting a prompt into ``lm``'s chat template as one user turn (None when the
    backend has no tokenizer with a chat template)."""
    tok = getattr(lm, "tokenizer", None)
    if tok is None or not getattr(tok, "chat_template", None):
        return None

    def wrap(prompt: str) -> str:
        return tok.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )

    return wrap


for _name, _cls in (("knn", KNNSkillPredictor), ("logreg", LogisticSkillPredictor), ("lm", LMSkillPredictor)):
    PREDICTORS.register(_name, _cls)
