"""fewshot.evaluation: accuracy against annotation budget, per selection method and retriever.

The research protocol (vote-k, IDEAL): draw a seeded pool (3,000) and test set (256) from a
labeled dataset; for each selection method, budget and seed, select from the pool, reveal the
selected items' gold labels, retrieve demonstrations for each test item from that annotated set
only, and score with

* ``lm``: a real language model (classification: argmin mean NLL over the verbalised labels;
  generation: exact match of the final answer), or
* ``proxy``: `knn_vote_proxy`, an LM-free similarity-weighted vote of the retrieved
  demonstrations' labels -- a proxy, not a model's accuracy.

::

    from fewshot.evaluation import EvalConfig, run_eval
    result = run_eval(EvalConfig(datasets=["sst5"], scorers=["proxy"], out="eval-out"))
    for row in result.summary: ...   # mean/std over seeds, gain over random, label diversity,
                                     # paired delta vs random [95% CI], verdict, cluster coverage

Or from the command line: ``fewshot eval --dataset sst5 --methods random,votek --limit 64``.
"""

from fewshot.evaluation._breakdown import LabelBreakdown, label_breakdown
from fewshot.evaluation._cache import CacheStats, content_hash
from fewshot.evaluation._config import SCORERS, EvalConfig, load_config
from fewshot.evaluation._datasets import (
    DATASETS,
    TASKS,
    DatasetSpec,
    LabeledDataset,
    get_dataset,
    load_dataset,
    shared_data_dir,
)
from fewshot.evaluation._paired import MethodTally, PairedDelta, paired_delta, tally_methods
from fewshot.evaluation._report import (
    RunResult,
    SummaryRow,
    plot_accuracy,
    relative_gain,
    summarize,
    write_csv,
    write_json,
)
from fewshot.evaluation._runner import PROXY_NOTE, EvalProgress, EvalResult, run_eval
from fewshot.evaluation._scoring import (
    LMScorer,
    answers_match,
    extract_answer,
    knn_vote_proxy,
    normalize_answer,
)

__all__ = [
    "CacheStats",
    "DATASETS",
    "DatasetSpec",
    "EvalConfig",
    "EvalProgress",
    "EvalResult",
    "LabelBreakdown",
    "LMScorer",
    "LabeledDataset",
    "MethodTally",
    "PairedDelta",
    "PROXY_NOTE",
    "RunResult",
    "SCORERS",
    "SummaryRow",
    "TASKS",
    "answers_match",
    "content_hash",
    "extract_answer",
    "get_dataset",
    "knn_vote_proxy",
    "label_breakdown",
    "load_config",
    "load_dataset",
    "normalize_answer",
    "paired_delta",
    "plot_accuracy",
    "relative_gain",
    "run_eval",
    "shared_data_dir",
    "summarize",
    "tally_methods",
    "write_csv",
    "write_json",
]
