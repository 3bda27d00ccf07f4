"""UDR: a trained list-wise demonstration retriever (SPEC 5).

* `UDRTask` -- a task's annotated pool, training items, prompt template, encoder instruction.
* Feedback mining -- `bm25_candidates` / `candidates_by` (top-N, self excluded), `mine_feedback`
  (mean NLL of the gold output given ``x_c y_c \\n x``, batched, cached in a `FeedbackCache`:
  `MemoryFeedbackCache`, or `fewshot.store.feedback.SQLFeedbackCache` on ``feedback_scores``).
* `sample_candidates` -- K = 8 per item: one of the LM's top 5, one of its bottom 5, the rest
  from the middle, kept in LM order.
* Losses -- `lambdarank_loss`, `inbatch_loss`, `udr_loss` (``4 * rank + inbatch``).
* `train_udr` -- one shared bi-encoder, task instruction prefixes, single-task batches.
* `run_udr` -- mining + training + iterative re-mining rounds.
* `UDRModel` / `load_udr_model` -- the saved model; ``model.retriever(corpus, task)`` is a
  `DenseRetriever` with exact inner-product search.

>>> from fewshot.udr import UDRTask, run_udr                       # doctest: +SKIP
>>> run = run_udr([UDRTask("sst5", template, pool, queries, "Sentiment: ")], lm)  # doctest: +SKIP
>>> run.model.save("udr-model")                                          # doctest: +SKIP
"""

from fewshot.udr._cache import FeedbackCache, MemoryFeedbackCache
from fewshot.udr._losses import inbatch_loss, lambdarank_loss, predicted_positions, udr_loss
from fewshot.udr._mining import MiningStats, bm25_candidates, candidates_by, merge_candidates, mine_feedback
from fewshot.udr._model import UDR_META, UDRModel, load_udr_model
from fewshot.udr._pipeline import UDRRun, load_base_model, mine_tasks, run_udr
from fewshot.udr._sampling import sample_candidates
from fewshot.udr._task import FEEDBACK_JOINER, UDRTask, template_hash
from fewshot.udr._trainer import TrainConfig, TrainResult, prepare_model, train_udr

__all__ = [
    "FEEDBACK_JOINER",
    "FeedbackCache",
    "MemoryFeedbackCache",
    "MiningStats",
    "TrainConfig",
    "TrainResult",
    "UDRModel",
    "UDRRun",
    "UDRTask",
    "UDR_META",
    "bm25_candidates",
    "candidates_by",
    "inbatch_loss",
    "lambdarank_loss",
    "load_base_model",
    "load_udr_model",
    "merge_candidates",
    "mine_feedback",
    "mine_tasks",
    "predicted_positions",
    "prepare_model",
    "run_udr",
    "sample_candidates",
    "template_hash",
    "train_udr",
    "udr_loss",
]
