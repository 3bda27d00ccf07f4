"""fewshot.feedback: language-model feedback for selection.

* `LMConfidence` -- ``confidence(selected_rows, candidate_rows) -> scores``: the model answers each
  candidate with demonstrations retrieved (cosine kNN) from the labeled selected rows, and its
  confidence is the mean token log-likelihood of its own answer (the predicted option, or the
  greedily generated text). It is two-stage vote-k's stage-2 signal (SPEC section 2;
  `fewshot.annotate.TwoStageVoteK`'s ``confidence``). Answers are cached by content in SQLite
  (`fewshot.lm.LMCache`), so a second run re-scores nothing.
* `nearest_rows`, `unit_rows` -- the cosine kNN the demonstrations come from.

A domain package: it works on item lists and matrices and never touches the store; the service
(`SelectionService.select(..., method="votek2", lm=...)`) builds an `LMConfidence` from a pool.

>>> from fewshot.annotate import select                                   # doctest: +SKIP
>>> conf = LMConfidence(lm, texts, X, labels, options=["negative", "positive"])  # doctest: +SKIP
>>> select(X, 20, "votek2", labeled=labeled_rows, confidence=conf, stage1_size=0)  # doctest: +SKIP
"""

from __future__ import annotations

from fewshot.feedback._confidence import NO_LABELED_DEMOS, LMConfidence, lm_token_counter
from fewshot.feedback._knn import nearest_rows, unit_rows

__all__ = ["LMConfidence", "NO_LABELED_DEMOS", "lm_token_counter", "nearest_rows", "unit_rows"]
