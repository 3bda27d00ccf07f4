"""The model-feedback argument of a selection method that needs one (two-stage ``votek2``).

Such a method (``needs_confidence`` on its class) takes ``confidence(selected, candidates)``.
In the evaluation it is a `fewshot.feedback.LMConfidence` over the run's pool: the config's LM
answers every candidate pool item with the ``k`` most similar *selected* items as
demonstrations, shown with their gold labels (the selected items are the annotated ones, so
revealing their labels is the paper's protocol; `LMConfidence` gets every pool item's label
but only the selected rows ever appear in a prompt), in the dataset's prompt format; its confidence is the mean token log-likelihood of its own answer.
Answers are cached by content in ``<cache>/confidence.sqlite`` (a file of its own: the scoring
cache keeps a connection open while the run lasts).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fewshot.annotate import STRATEGIES
from fewshot.evaluation._context import RunContext
from fewshot.evaluation._prepare import Prepared
from fewshot.retrieve import Example

__all__ = ["needs_confidence", "confidence_kwargs"]


def needs_confidence(method: str) -> bool:
    """Whether the registered selection ``method`` needs a confidence function."""
    return bool(getattr(STRATEGIES.get(method), "needs_confidence", False))


def confidence_kwargs(ctx: RunContext, prep: Prepared, pool_items: list[Example], P: np.ndarray) -> dict[str, Any]:
    """``{"confidence": LMConfidence}`` over one seed's pool (``pool_items``, embeddings ``P``
    of shape (pool_size, dim)), built on the config's LM (loaded on first use)."""
    from fewshot.feedback import LMConfidence

    cfg = ctx.config
    is_gen = prep.is_generation

    conf = LMConfidence(
        ctx.models.lm,
        pool_items,
        P,
        [str(ex.label) for ex in pool_items],
        options=None if is_gen else list(prep.ds.labels),
        template=prep.ds.spec.prompt_template(),
        k=cfg.k,
        max_tokens=cfg.max_tokens,
        max_new_tokens=cfg.max_new_tokens,
        stop=list(prep.ds.spec.stop) if is_gen else None,
        cache=ctx.config.cache_path / "confidence.sqlite",
        progress=lambda done, total: ctx.report(f"{prep.name}: votek2 confidence", done, total),
    )
    return {"confidence": conf}
