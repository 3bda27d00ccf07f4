"""Step 5 with a language model: score the queued `LMJob`s (prompts packed under
``max_tokens``, answers cached in SQLite)."""

from __future__ import annotations

import logging

import numpy as np

from fewshot.evaluation._context import RunContext
from fewshot.evaluation._datasets import LabeledDataset
from fewshot.evaluation._paired import encode_correct
from fewshot.evaluation._report import RunResult
from fewshot.evaluation._scoring import LMScorer, answers_match, extract_answer
from fewshot.evaluation._select_runs import LMJob
from fewshot.retrieve import Demo, Example

__all__ = ["score_lm"]

logger = logging.getLogger(__name__)


def score_lm(
    ctx: RunContext,
    ds: LabeledDataset,
    scored: list[Example],
    gold: list[str],
    jobs: list[LMJob],
    runs: list[RunResult],
) -> None:
    cfg = ctx.config
    lm = ctx.models.lm
    assert ctx.lm_cache is not None
    scorer = LMScorer(lm, ctx.lm_cache, max_tokens=cfg.max_tokens, k=cfg.k, max_new_tokens=cfg.max_new_tokens)
    is_gen = ds.spec.task == "generation"
    options = None if is_gen else ds.options
    builder = scorer.builder(ds.spec.prompt_template(), options=options)
    stage = f"{ds.name}: lm {lm.name}"
    total = len(jobs) * len(scored)
    ctx.report(stage, 0, total)
    batch = getattr(lm, "batch_size", 8)
    for n, job in enumerate(jobs):
        prompts, n_demos = [], []
        for i, query in enumerate(scored):
            demos = [
                Demo(job.annotated[j], float(s), r)
                for r, (j, s) in enumerate(zip(job.neighbors[i].tolist(), job.sims[i].tolist()))
                if j >= 0
            ]
            text, used = scorer.build(builder, query, demos)
            prompts.append(text)
            n_demos.append(used)
        offset = n * len(scored)
        if is_gen:
            texts = scorer.generate(
                prompts,
                stop=ds.spec.stop,
                progress=lambda d, t: ctx.report(stage, d, t),
                done_offset=offset,
                total=total,
                batch_size=batch,
            )
            answers = [extract_answer(tx) for tx in texts]
            predictions = ["" if a is None else str(a) for a in answers]
            correct = [answers_match(a, g) for a, g in zip(answers, gold)]
        else:
            assert options is not None
            best = scorer.classify(
                prompts, options, progress=lambda d, t: ctx.report(stage, d, t), done_offset=offset, total=total
            )
            predictions = [ds.labels[b] for b in best]
            correct = [p == g for p, g in zip(predictions, gold)]
        runs.append(
            RunResult(
                scorer="lm",
                accuracy=float(np.mean(correct)),
                mean_demos=float(np.mean(n_demos)),
                lm=lm.name,
                correct=encode_correct(correct),
                predictions=predictions,
                **job.meta,
            )
        )
    if scorer.n_overlong:
        logger.warning("%s: %d test prompts exceeded max_tokens without demonstrations", ds.name, scorer.n_overlong)
