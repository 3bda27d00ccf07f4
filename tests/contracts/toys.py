"""Toy implementations of each family, small enough to read at a glance, and deliberately broken
variants. ``test_contract_toys.py`` registers them inside a test and runs the ``checks`` on them:
the good ones must pass (the checks ask nothing an honest implementation cannot give), the broken
ones must fail (the checks can fail). `ScriptedLM` also drives the LM skill predictor through
answers that name real skills (the tiny random GPT-2 never does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from fewshot.adaptive import SkillPredictor
from fewshot.annotate import Selection, SelectionStrategy
from fewshot.lm import Generation, LMBackend, LogLik, cut_at_stop
from fewshot.registry import Registry
from fewshot.retrieve import BaseRetriever, Hits

__all__ = [
    "registered",
    "FirstFree",
    "IgnoresLabeled",
    "WordOverlap",
    "DuplicateIds",
    "ToyLM",
    "UnseededLM",
    "ScriptedLM",
    "VocabularyOrder",
    "OutsideVocabulary",
]


@contextlib.contextmanager
def registered(registry: Registry, name: str, obj: Any) -> Iterator[Any]:
    """``obj`` registered as ``name`` inside the block only."""
    registry.register(name, obj)
    try:
        yield obj
    finally:
        registry.unregister(name)


# -- selection -----------------------------------------------------------------------------------


class FirstFree(SelectionStrategy):
    """The first ``budget`` unlabeled rows."""

    name = "first_free"

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        free = np.setdiff1d(np.arange(Z.shape[0]), labeled)[:budget].astype(np.int64)
        return Selection(free, np.zeros(budget), self.name, dict(params))


class IgnoresLabeled(FirstFree):
    """Broken: may pick rows that are already labeled."""

    name = "ignores_labeled"

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        return Selection(np.arange(budget, dtype=np.int64), np.zeros(budget), self.name, dict(params))


# -- retrievers ----------------------------------------------------------------------------------


class WordOverlap(BaseRetriever):
    """Items sharing the most lowercase words with the query (ties by corpus order)."""

    name: ClassVar[str] = "word_overlap"

    def __init__(self, corpus: Any) -> None:
        super().__init__(corpus)

    def _prepare(self, batch: Any) -> list[set[str]]:
        return [set(q.lower().split()) for q in batch]

    def _search(self, prepared: list[set[str]], k: int, allowed: np.ndarray | None) -> Hits:
        keys = self.corpus.keys() if allowed is None else np.asarray(allowed, dtype=np.int64)
        words = [set(t.lower().split()) for t in self.corpus.texts_at(keys)]
        hits = Hits.empty(len(prepared), k)
        for i, q in enumerate(prepared):
            scores = np.array([len(q & w) for w in words], dtype=np.float32)
            order = np.lexsort((keys, -scores))[:k]
            hits.ids[i, : order.size] = keys[order]
            hits.scores[i, : order.size] = scores[order]
        return hits


class DuplicateIds(WordOverlap):
    """Broken: repeats its best item in every slot."""

    name: ClassVar[str] = "duplicate_ids"

    def _search(self, prepared, k, allowed) -> Hits:
        hits = super()._search(prepared, k, allowed)
        return Hits(np.repeat(hits.ids[:, :1], k, axis=1), np.repeat(hits.scores[:, :1], k, axis=1))


# -- LM backends ---------------------------------------------------------------------------------

_ALPHABET = "abcdefghij ."


class ToyLM(LMBackend):
    """A character bigram model over a 12-character alphabet with fixed random weights."""

    def __init__(self, target: str = "", **kw: Any) -> None:
        self.target = target
        logits = np.random.default_rng(0).normal(scale=2.0, size=(len(_ALPHABET) + 1, len(_ALPHABET)))
        self._logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    @property
    def name(self) -> str:
        return f"toy:{self.target}"

    @property
    def max_context(self) -> int | None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(text)

    def _row(self, prev: str) -> np.ndarray:
        i = _ALPHABET.find(prev.lower()) if prev else -1
        return self._logp[i if i >= 0 else len(_ALPHABET)]

    def _loglikelihood(self, requests, progress) -> list[LogLik]:
        out = []
        for prompt, cont in requests:
            prev, lps, greedy = prompt[-1:] or "", [], True
            for ch in cont:
                row = self._row(prev)
                j = _ALPHABET.find(ch.lower())
                lps.append(float(row[j]) if j >= 0 else float(row.min()) - 1.0)
                greedy &= j == int(row.argmax())
                prev = ch
            out.append(LogLik(tuple(lps), tuple(cont), bool(greedy)))
        return out

    def _sample(
        self, prompt: str, max_new_tokens: int, temperature: float, rng: np.random.Generator | None
    ) -> tuple[str, list[float]]:
        prev, text, lps = prompt[-1:], "", []
        for _ in range(max_new_tokens):
            row = self._row(prev)
            if rng is None:
                j = int(row.argmax())
            else:
                p = np.exp(row / temperature)
                j = int(rng.choice(len(_ALPHABET), p=p / p.sum()))
            text += _ALPHABET[j]
            lps.append(float(row[j]))
            prev = _ALPHABET[j]
        return text, lps

    def _rng(self, seed: int | None, i: int, s: int, temperature: float) -> np.random.Generator | None:
        if temperature == 0:
            return None
        return np.random.default_rng(None if seed is None else [seed, i, s])

    def _generate(self, prompts, *, max_new_tokens, stop, temperature, seed, n, progress) -> list[Generation]:
        out = []
        for i, prompt in enumerate(prompts):
            for s in range(n):
                text, lps = self._sample(prompt, max_new_tokens, temperature, self._rng(seed, i, s, temperature))
                cut, found = cut_at_stop(text, stop)
                kept = lps[: min(len(cut) + 1, len(lps))] if found else lps
                out.append(Generation(cut, tuple(kept), "stop" if found else "length", i, s))
        return out


class UnseededLM(ToyLM):
    """Broken: sampling ignores the seed."""

    def _rng(self, seed, i, s, temperature):
        return None if temperature == 0 else np.random.default_rng()


class ScriptedLM(ToyLM):
    """Answers every prompt with ``answer(prompt)`` (e.g. skill names for the LM skill predictor)."""

    def __init__(self, answer: Callable[[str], str]) -> None:
        super().__init__("scripted")
        self.answer = answer

    def _generate(self, prompts, *, max_new_tokens, stop, temperature, seed, n, progress) -> list[Generation]:
        out = []
        for i, prompt in enumerate(prompts):
            text, found = cut_at_stop(self.answer(prompt), stop)
            for s in range(n):
                out.append(Generation(text, (-0.5,) * max(1, len(text.split())), "stop" if found else "eos", i, s))
        return out


def skill_answer(vocabulary: Sequence[str]) -> Callable[[str], str]:
    """A scripted answer naming up to three vocabulary skills chosen by the question's length."""

    def answer(prompt: str) -> str:
        question = prompt.rsplit("Question:", 1)[-1]
        start = len(question) % len(vocabulary)
        names = [vocabulary[(start + j) % len(vocabulary)] for j in range(min(3, len(vocabulary)))]
        return " " + ", ".join(names) + "\n\nQuestion: next"

    return answer


# -- skill predictors ----------------------------------------------------------------------------


class VocabularyOrder(SkillPredictor):
    """The first ``top`` skills of the vocabulary, whatever the query."""

    name: ClassVar[str] = "vocabulary_order"

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = list(vocabulary)

    @classmethod
    def for_pool(cls, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, **params: Any):
        return cls(vocabulary)

    def _predict(self, queries: list[str], top: int) -> list[list[str]]:
        return [self.vocabulary[:top] for _ in queries]


class OutsideVocabulary(VocabularyOrder):
    """Broken: names a skill the pool does not have."""

    name: ClassVar[str] = "outside_vocabulary"

    def _predict(self, queries, top):
        return [["made_up_skill"][:top] for _ in queries]
