"""fewshot.lm: language-model backends behind one small interface.

* `LMBackend` (``fewshot.lm.base``) -- ``loglikelihood``, ``score_options``, ``generate``,
  ``count_tokens``, ``name``, ``max_context``; results are the dataclasses `LogLik`,
  `OptionScores` and `Generation`.
"""

from __future__ import annotations

from fewshot.lm._errors import LMBackendError
from fewshot.lm._results import Generation, LogLik, OptionScores
from fewshot.lm.base import LMBackend, Progress, cut_at_stop

__all__ = [
    "Generation",
    "LMBackend",
    "LMBackendError",
    "LogLik",
    "OptionScores",
    "Progress",
    "cut_at_stop",
]
