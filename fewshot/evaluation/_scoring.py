"""Scorers: the LM-free `knn_vote_proxy` and the language-model scorer `LMScorer`.

The proxy is *not* in-context accuracy: it asks whether the retrieved demonstrations' own labels,
weighted by cosine similarity to the test item, would name the right label. It is cheap enough to
run on every configuration and tracks how useful the annotated set is to a similarity retriever,
but a real model can disagree (it reads the texts, is biased towards some label words, and can
ignore demonstrations). Report it under its name, never as accuracy of a model.

The LM scorer is the research protocol: for classification, the prediction is the verbalised label
of lowest mean token NLL after the prompt (`LMBackend.score_options`); for generation (GSM8K),
greedy decoding and exact match of the final number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from fewshot.evaluation._cache import LMCache
from fewshot.exceptions import InvalidInputError
from fewshot.prompt import (
    ApproxTokenCounter,
    HFTokenCounter,
    PromptBuilder,
    PromptTemplate,
    TokenCounter,
    answers_match,
    extract_answer,
    normalize_answer,
)

__all__ = ["knn_vote_proxy", "extract_answer", "normalize_answer", "answers_match", "LMScorer", "lm_token_counter"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def knn_vote_proxy(
    neighbor_labels: Sequence[Sequence[Hashable | None]], similarities: Any, *, labels: Sequence[Hashable] | None = None
) -> list[Hashable | None]:
    """LM-free proxy prediction: similarity-weighted vote of retrieved demonstrations' labels.

    For each query, every label present among its retrieved demonstrations gets the sum of
    those demonstrations' cosine similarities to the query; the label with the largest sum is
    the prediction. Ties go to the label first in ``labels`` (or, without ``labels``, to the one
    whose first demonstration was retrieved earliest). A query with no demonstrations gets
    ``None`` (counted wrong).

    Parameters
    ----------
    neighbor_labels : sequence of m sequences
        Labels of the retrieved demonstrations of each query, best first; ``None`` entries
        (padding) are skipped.
    similarities : array-like of shape (m, k)
        Cosine similarity of each retrieved demonstration to its query.
    labels : sequence, optional
        The label set in option order (tie-breaking).

    Returns
    -------
    list of m labels (or None).

    Examples
    --------
    >>> knn_vote_proxy([["a", "b", "b"]], [[0.9, 0.5, 0.3]])
    ['a']
    >>> knn_vote_proxy([["a", "b", "b"]], [[0.7, 0.5, 0.3]])
    ['b']
    """
    sims = np.asarray(similarities, dtype=np.float64)
    order = {lb: i for i, lb in enumerate(labels)} if labels is not None else None
    out: list[Hashable | None] = []
    for row, row_labels in enumerate(neighbor_labels):
        totals: dict[Hashable, float] = {}
        for j, lb in enumerate(row_labels):
            if lb is None:
                continue
            totals[lb] = totals.get(lb, 0.0) + float(sims[row, j])
        if not totals:
            out.append(None)
            continue
        cands = list(totals)  # first-retrieved order
        if order is not None:
            cands.sort(key=lambda lb: order.get(lb, len(order)))
        best = cands[0]
        for lb in cands[1:]:
            if totals[lb] > totals[best]:
                best = lb
        out.append(best)
    return out


# ---------------------------------------------------------------------------- LM scorer


def lm_token_counter(lm: Any) -> TokenCounter:
    """The LM's own tokenizer as a `TokenCounter` when it has one, else `ApproxTokenCounter`."""
    tok = getattr(lm, "tokenizer", None)
    if tok is not None and callable(tok):
        return HFTokenCounter(tok, name=f"lm:{lm.name}")
    return ApproxTokenCounter()


class LMScorer:
    """Builds budgeted prompts and asks a language model, through the `LMCache`.

    Parameters
    ----------
    lm : LMBackend
    cache : LMCache
        An open cache; answers already there are not recomputed.
    max_tokens : int
        Prompt budget (capped at the model's context length).
    k : int
        At most this many demonstrations per prompt.
    max_new_tokens : int
        Generation length for generation tasks.
    """

    def __init__(self, lm: Any, cache: LMCache, *, max_tokens: int, k: int, max_new_tokens: int) -> None:
        self.lm = lm
        self.cache = cache
        self.k = k
        self.max_new_tokens = max_new_tokens
        ctx = getattr(lm, "max_context", None)
        if ctx is not None and max_tokens > ctx:
            logger.info("max_tokens %d exceeds %s's context %d; using %d", max_tokens, lm.name, ctx, ctx)
            max_tokens = ctx
        self.max_tokens = max_tokens
        self.counter = lm_token_counter(lm)
        self.n_overlong = 0

    def builder(self, template: PromptTemplate, *, options: Sequence[str] | None) -> PromptBuilder:
        """A `PromptBuilder` reserving room for the longest option (or the generated answer)
        plus 2 tokens for special tokens the model may add."""
        if options is not None:
            reserve = max(self.lm.count_tokens(o) for o in options) + 2
        else:
            reserve = self.max_new_tokens + 2
        if reserve >= self.max_tokens:
            reserve = self.max_tokens // 2
        return PromptBuilder(
            template, self.counter, max_tokens=self.max_tokens, k=self.k, reserve_tokens=reserve, order="similar_last"
        )

    def build(self, builder: PromptBuilder, query: Any, demos: Sequence[Any]) -> tuple[str, int]:
        """``(prompt text, number of demonstrations used)``; a query that alone exceeds the
        budget is sent without demonstrations (and counted in ``n_overlong``)."""

        try:
            built = builder.build(query, demos)
        except InvalidInputError as exc:
            if "query alone" not in str(exc):
                raise
            self.n_overlong += 1
            tpl = builder.template
            return tpl.join([], tpl.render_input(query)), 0
        return built.text, len(built.demos)

    def classify(
        self,
        prompts: Sequence[str],
        options: Sequence[str],
        *,
        progress: Progress | None = None,
        done_offset: int = 0,
        total: int | None = None,
    ) -> list[int]:
        """Index of the option of lowest mean NLL for each prompt (cached by prompt/options)."""
        opts = list(options)
        settings = {"options": opts}
        out = []
        total = len(prompts) if total is None else total
        for i, prompt in enumerate(prompts):
            key = LMCache.key(self.lm.name, "options", prompt, settings)
            value = self.cache.get(key)
            if value is None:
                scores = self.lm.score_options(prompt, opts)
                value = {"mean_nll": scores.mean_nll.tolist()}
                self.cache.put(key, self.lm.name, value)
            out.append(int(np.argmin(np.asarray(value["mean_nll"]))))
            if progress is not None:
                progress(done_offset + i + 1, total)
        return out

    def generate(
        self,
        prompts: Sequence[str],
        *,
        stop: Sequence[str],
        progress: Progress | None = None,
        done_offset: int = 0,
        total: int | None = None,
        batch_size: int = 8,
    ) -> list[str]:
        """Greedy answers (cached by prompt and generation settings), in prompt order."""
        settings = {"max_new_tokens": self.max_new_tokens, "stop": list(stop)}
        keys = [LMCache.key(self.lm.name, "generate", p, settings) for p in prompts]
        out: list[str | None] = [None] * len(prompts)
        missing = []
        for i, key in enumerate(keys):
            value = self.cache.get(key)
            if value is None:
                missing.append(i)
            else:
                out[i] = value["text"]
        total = len(prompts) if total is None else total
        done = len(prompts) - len(missing)
        if progress is not None:
            progress(done_offset + done, total)
        for start in range(0, len(missing), batch_size):
            rows = missing[start : start + batch_size]
            gens = self.lm.generate([prompts[i] for i in rows], max_new_tokens=self.max_new_tokens, stop=list(stop))
            for i, g in zip(rows, gens):
                out[i] = g.text
                self.cache.put(keys[i], self.lm.name, {"text": g.text})
            done += len(rows)
            if progress is not None:
                progress(done_offset + done, total)
        return [t if t is not None else "" for t in out]
