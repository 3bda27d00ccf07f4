"""`LMConfidence`: the language model's confidence in its own answers, the stage-2 signal of
two-stage vote-k (SPEC section 2).

For every candidate pool item the model answers with demonstrations retrieved from the current
selection (the labeled selected rows most cosine-similar to the item, packed into a token budget
by the same `PromptBuilder` rules as the evaluation harness's ``LMScorer``), and the confidence is
the mean token log-likelihood of *its own* answer:

* classification (``options`` given): the prediction is the option of lowest mean token NLL
  (`LMBackend.score_options`), its confidence that option's mean token log-likelihood;
* generation (``options=None``): the model answers greedily, and the confidence is the mean
  token log-prob of the generated answer.

Answers are cached by content in a SQLite file (`fewshot.lm.LMCache`): the key is the sha256 of
(LM name, prompt text, options or generation settings), so a second run over the same items and
selection re-scores nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError, LMBackendError
from fewshot.feedback._knn import nearest_rows, unit_rows
from fewshot.lm import LMBackend, LMCache, LMCacheStats
from fewshot.progress import Progress
from fewshot.prompt import (
    ApproxTokenCounter,
    HFTokenCounter,
    PromptBuilder,
    PromptTemplate,
    TokenCounter,
    default_template,
)
from fewshot.retrieve import Example

__all__ = ["LMConfidence", "NO_LABELED_DEMOS", "lm_token_counter"]

logger = logging.getLogger(__name__)

#: The message of the error raised when no selected row has a label to show as a demonstration.
NO_LABELED_DEMOS = (
    "two-stage vote-k with an LM needs labeled demonstrations: none of the selected items has a "
    "label (label the first round, then run votek2)"
)

#: ``labels``: a mapping ``row -> label``, a function ``row -> label or None``, or one label (or
#: None) per row.
LabelsLike = Mapping[int, Any] | Callable[[int], Any] | Sequence[Any]


def lm_token_counter(lm: Any) -> TokenCounter:
    """The LM's own tokenizer as a `TokenCounter` when it has one, else `ApproxTokenCounter`
    (the evaluation harness's rule)."""
    tok = getattr(lm, "tokenizer", None)
    if tok is not None and callable(tok):
        return HFTokenCounter(tok, name=f"lm:{lm.name}")
    return ApproxTokenCounter()


class LMConfidence:
    """``confidence(selected_rows, candidate_rows) -> scores``: the LM's confidence in its answer
    to each candidate, with demonstrations from the labeled selected rows (usable as
    `fewshot.annotate.TwoStageVoteK`'s ``confidence``).

    Parameters
    ----------
    lm : LMBackend
    items : sequence of n items
        The pool's items in row order: a str (the ``text`` field) or a mapping / `Example` of the
        fields ``template`` renders.
    vectors : array-like of shape (n, dim)
        Embeddings of the items (normalised here): demonstrations are the ``k`` labeled selected
        rows of highest cosine similarity to the candidate.
    labels : mapping row -> label, callable row -> label or None, or sequence of n labels
        The rows' labels; rows without one (None) are never demonstrations.
    options : sequence of str, optional
        The label set (classification): each option is scored as the template's output for that
        label (``template.render_output({"label": option})``, verbalizer applied). None:
        generation.
    template : PromptTemplate, optional
        Default: `fewshot.prompt.default_template` over ``options``.
    k : int, default 4
        At most this many demonstrations per prompt (fewer when they do not fit ``max_tokens``).
    max_tokens : int, default 512
        Prompt budget, capped at the model's context length.
    max_new_tokens : int, default 32
        Generation: answer length.
    stop : sequence of str, optional
        Generation: where an answer ends (default: the template's separator, else a blank line).
    cache : path, optional
        A SQLite file of answers (`fewshot.lm.LMCache`), shared by every run; None keeps answers
        for one call only.
    progress : callable(done, total), optional
        Called as candidates are scored (``total`` = candidates of the call).
    batch_size : int, default 8
        Generation: prompts per `LMBackend.generate` call.

    Attributes
    ----------
    stats : LMCacheStats
        Answers computed (``lm_computed``) and found in the cache (``lm_cached``), over every call.
    predictions : dict row -> str
        The model's answer (an option, or the generated text) to each candidate of the last call.

    Raises
    ------
    InvalidInputError
        Mismatched lengths, bad parameters, options the template cannot render, or no row with a
        label (`NO_LABELED_DEMOS`; at call time too when no *selected* row has one).
    """

    def __init__(
        self,
        lm: LMBackend,
        items: Sequence[Any],
        vectors: Any,
        labels: LabelsLike,
        *,
        options: Sequence[str] | None = None,
        template: PromptTemplate | None = None,
        k: int = 4,
        max_tokens: int = 512,
        max_new_tokens: int = 32,
        stop: Sequence[str] | None = None,
        cache: str | Path | None = None,
        progress: Progress | None = None,
        batch_size: int = 8,
    ) -> None:
        self.lm = lm
        self.items = list(items)
        for i, item in enumerate(self.items):
            if not isinstance(item, (str, Mapping, Example)):
                raise InvalidInputError(f"item {i} must be a str, a mapping or an Example, got a {type(item).__name__}")
        X = np.asarray(vectors, dtype=np.float32)
        if X.ndim != 2 or X.shape[0] != len(self.items):
            raise InvalidInputError(
                f"vectors must have shape (n_items, dim) = ({len(self.items)}, dim), got {tuple(X.shape)}"
            )
        if not np.isfinite(X).all():
            raise InvalidInputError("vectors hold NaN or infinite values")
        self.U = unit_rows(X)
        self.labels = _labels(labels, len(self.items))
        if all(lab is None for lab in self.labels):
            raise InvalidInputError(NO_LABELED_DEMOS)
        self.k = _int(k, "k", 1)
        self.max_new_tokens = _int(max_new_tokens, "max_new_tokens", 1)
        self.batch_size = _int(batch_size, "batch_size", 1)
        max_tokens = _int(max_tokens, "max_tokens", 1)
        ctx = getattr(lm, "max_context", None)
        self.max_tokens = min(max_tokens, ctx) if ctx else max_tokens
        self.options = None if options is None else _options(options)
        self.template = template if template is not None else default_template((), self.options or ())
        if not isinstance(self.template, PromptTemplate):
            raise InvalidInputError("template must be a PromptTemplate")
        self.continuations = None if self.options is None else _continuations(self.template, self.options)
        self.stop = list(stop) if stop is not None else [self.template.separator or "\n\n"]
        if not self.stop or not all(isinstance(s, str) and s for s in self.stop):
            raise InvalidInputError(f"stop must be non-empty strings, got {stop!r}")
        self.cache_path = None if cache is None else Path(cache)
        self.progress = progress
        self.stats = LMCacheStats()
        self.predictions: dict[int, str] = {}
        self.n_overlong = 0
        self._builder = self._make_builder()

    # ------------------------------------------------------------------ prompts
    def _make_builder(self) -> PromptBuilder:
        if self.continuations is not None:
            reserve = max(self.lm.count_tokens(c) for c in self.continuations) + 2
        else:
            reserve = self.max_new_tokens + 2
        if reserve >= self.max_tokens:
            reserve = self.max_tokens // 2
        return PromptBuilder(
            self.template,
            lm_token_counter(self.lm),
            max_tokens=self.max_tokens,
            k=self.k,
            reserve_tokens=reserve,
            order="similar_last",
        )

    def demonstrations(
        self, selected: Sequence[int] | np.ndarray, candidates: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Row numbers of each candidate's demonstrations, most similar first: the ``k`` labeled
        rows of ``selected`` nearest by cosine, shape ``(len(candidates), min(k, labeled))``."""
        sel = np.asarray(selected, dtype=np.int64).reshape(-1)
        cand = np.asarray(candidates, dtype=np.int64).reshape(-1)
        n = len(self.items)
        for name, rows in (("selected", sel), ("candidates", cand)):
            if rows.size and (rows.min() < 0 or rows.max() >= n):
                raise InvalidInputError(f"{name} holds a row outside 0..{n - 1}")
        usable = np.array([r for r in dict.fromkeys(sel.tolist()) if self.labels[r] is not None], dtype=np.int64)
        if usable.size == 0:
            raise InvalidInputError(NO_LABELED_DEMOS)
        return nearest_rows(self.U, cand, usable, self.k)[0]

    def prompt(self, row: int, demos: Sequence[int]) -> str:
        """The prompt asking the model about ``row`` with ``demos`` (rows, most similar first)
        as demonstrations, packed under ``max_tokens`` (a query that alone exceeds the budget goes
        without demonstrations)."""
        shown = [_with_label(self.items[j], self.labels[j], j) for j in demos]
        try:
            return self._builder.build(self.items[row], shown).text
        except InvalidInputError as exc:
            if "query alone" not in str(exc):
                raise
            self.n_overlong += 1
            tpl = self.template
            return tpl.join([], tpl.render_input(self.items[row]))

    # ------------------------------------------------------------------ scoring
    def __call__(self, selected: Sequence[int] | np.ndarray, candidates: Sequence[int] | np.ndarray) -> np.ndarray:
        """Confidence of the model's answer to each candidate (mean token log-likelihood, higher =
        more confident), shape ``(len(candidates),)``, float64."""
        cand = np.asarray(candidates, dtype=np.int64).reshape(-1)
        if cand.size == 0:
            return np.zeros(0, dtype=np.float64)
        demos = self.demonstrations(selected, cand)
        prompts = [self.prompt(int(r), d) for r, d in zip(cand.tolist(), demos.tolist())]
        with LMCache(self.cache_path or ":memory:", self.stats) as cache:
            if self.continuations is not None:
                answers, conf = self._classify(cache, prompts)
            else:
                answers, conf = self._generate(cache, prompts)
        self.predictions = dict(zip(cand.tolist(), answers))
        if self.n_overlong:
            logger.warning("%d prompts exceeded max_tokens without demonstrations", self.n_overlong)
        return np.asarray(conf, dtype=np.float64)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _classify(self, cache: LMCache, prompts: list[str]) -> tuple[list[str], list[float]]:
        assert self.options is not None and self.continuations is not None
        settings = {"options": self.continuations}  # the evaluation harness's key: its answers are reused
        answers, conf = [], []
        for i, prompt in enumerate(prompts):
            key = LMCache.key(self.lm.name, "options", prompt, settings)
            value = cache.get(key)
            if value is None:
                scores = self.lm.score_options(prompt, self.continuations)
                value = {"mean_nll": scores.mean_nll.tolist()}
                cache.put(key, self.lm.name, value)
            nll = np.asarray(value["mean_nll"], dtype=np.float64)
            best = int(np.argmin(nll))
            answers.append(self.options[best])
            conf.append(float(-nll[best]))
            self._report(i + 1, len(prompts))
        return answers, conf

    def _generate(self, cache: LMCache, prompts: list[str]) -> tuple[list[str], list[float]]:
        settings = {"max_new_tokens": self.max_new_tokens, "stop": self.stop, "logprobs": True}
        keys = [LMCache.key(self.lm.name, "generate", p, settings) for p in prompts]
        values: list[dict[str, Any] | None] = [cache.get(key) for key in keys]
        missing = [i for i, v in enumerate(values) if v is None]
        done = len(prompts) - len(missing)
        self._report(done, len(prompts))
        for start in range(0, len(missing), self.batch_size):
            rows = missing[start : start + self.batch_size]
            gens = self.lm.generate([prompts[i] for i in rows], max_new_tokens=self.max_new_tokens, stop=self.stop)
            for i, g in zip(rows, gens):
                if not math.isfinite(g.mean_logprob):
                    raise LMBackendError(
                        f"LM {self.lm.name!r} reported no token log-probs for its answer; "
                        "two-stage vote-k needs them as its confidence"
                    )
                values[i] = {"text": g.text, "mean_logprob": g.mean_logprob}
                cache.put(keys[i], self.lm.name, values[i])
            done += len(rows)
            self._report(done, len(prompts))
        out = [v for v in values if v is not None]
        return [str(v["text"]) for v in out], [float(v["mean_logprob"]) for v in out]


# ---------------------------------------------------------------------------- input checks


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidInputError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _labels(labels: LabelsLike, n: int) -> list[str | None]:
    """One label (str) or None per row."""
    if isinstance(labels, Mapping):
        raw = [labels.get(i) for i in range(n)]
    elif callable(labels):
        raw = [labels(i) for i in range(n)]
    elif isinstance(labels, Sequence) and not isinstance(labels, (str, bytes)):
        if len(labels) != n:
            raise InvalidInputError(f"labels must give one label (or None) per item: expected {n}, got {len(labels)}")
        raw = list(labels)
    else:
        raise InvalidInputError("labels must be a mapping row -> label, a function of the row, or one label per item")
    return [None if lab is None or (isinstance(lab, str) and not lab.strip()) else str(lab) for lab in raw]


def _options(options: Sequence[str]) -> list[str]:
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
        raise InvalidInputError("options must be a sequence of labels (or None for generation)")
    opts = [str(o) for o in options]
    if not opts or any(not o.strip() for o in opts):
        raise InvalidInputError(f"options must be non-empty labels, got {list(options)!r}")
    if len(set(opts)) != len(opts):
        raise InvalidInputError(f"options must be distinct, got {opts!r}")
    return opts


def _continuations(template: PromptTemplate, options: list[str]) -> list[str]:
    """Each option as the model would write it: the template's output for that label."""
    try:
        out = [template.render_output({"label": o}) for o in options]
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"options are scored as the template's output for each label, which failed: {exc}"
        ) from None
    if any(not c for c in out):
        raise InvalidInputError(f"template {template.name!r} renders an empty output for an option")
    return out


def _with_label(item: Any, label: str | None, row: int) -> Any:
    """``item`` as a demonstration carrying ``label`` (and ``id`` = its row when it has none)."""
    if isinstance(item, Example):
        return dataclasses.replace(item, label=label)
    if isinstance(item, str):
        return {"id": row, "text": item, "label": label}
    return {"id": row, **item, "label": label}
