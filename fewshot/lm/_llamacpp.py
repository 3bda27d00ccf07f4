"""`LlamaCpp`: a GGUF model run in-process by llama.cpp (optional extra ``llamacpp``).

Needs ``llama-cpp-python`` (``pip install 'fewshot[llamacpp]'``; it compiles llama.cpp unless a
prebuilt wheel matches the platform). The model keeps logits for every position
(``logits_all=True``), which costs ``n_ctx * vocab * 4`` bytes (400 MB for SmolLM2 at
``n_ctx=2048``).

Scoring follows the same boundary rule as `HFCausalLM` (longest common token prefix of the prompt
and prompt + continuation). `score_options` evaluates the prompt once and, for each option,
rewinds llama.cpp's KV cache to the end of the shared prefix (``n_tokens``) before evaluating the
option's tokens. Generation uses ``create_completion`` with plain temperature sampling (top-k,
top-p, min-p and repeat penalty switched off) and a seed per sample derived from ``seed``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError, MissingDependencyError, NotFoundError
from fewshot.lm._results import Generation, LogLik, OptionScores
from fewshot.lm.base import LMBackend, Progress, cut_at_stop

__all__ = ["LlamaCpp"]

log = logging.getLogger(__name__)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


class LlamaCpp(LMBackend):
    """A GGUF model through llama-cpp-python.

    Parameters
    ----------
    model_path : path to a ``.gguf`` file
    n_ctx : int
        Context length to allocate.
    n_threads : int, optional
        CPU threads (llama.cpp's default when None).
    n_gpu_layers : int
        Layers to offload to a GPU build of llama.cpp (0 = CPU only, -1 = all).
    kv_reuse : bool
        Default of `score_options`'s ``kv_reuse``.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        kv_reuse: bool = True,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise MissingDependencyError("llama-cpp-python", "llamacpp") from None
        path = Path(model_path)
        if not path.is_file():
            raise NotFoundError(f"GGUF file not found: {path}")
        self.path = path
        self.kv_reuse = kv_reuse
        self.llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            logits_all=True,
            verbose=False,
        )
        self._n_ctx = int(self.llm.n_ctx())

    @property
    def name(self) -> str:
        return f"llamacpp:{self.path}"

    @property
    def max_context(self) -> int | None:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        return len(self._tokenize(text, bos=False))

    def _tokenize(self, text: str, *, bos: bool = True) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def _piece(self, token: int) -> str:
        return self.llm.detokenize([token]).decode("utf-8", errors="replace")

    def _encode_pair(self, i: int, prompt: str, cont: str) -> tuple[list[int], int]:
        ctx, whole = self._tokenize(prompt), self._tokenize(prompt + cont)
        split = 0
        while split < min(len(ctx), len(whole)) and ctx[split] == whole[split]:
            split += 1
        if split == len(whole):
            raise InvalidInputError(f"request {i}: the continuation {cont!r} adds no token to the prompt")
        if split == 0:
            bos = self.llm.token_bos()
            if bos < 0:
                raise InvalidInputError(f"request {i}: no context token before the continuation")
            whole, split = [bos] + whole, 1
        if len(whole) > self._n_ctx:
            drop = len(whole) - self._n_ctx
            if split - drop < 1:
                raise InvalidInputError(f"request {i}: the continuation does not fit n_ctx={self._n_ctx}")
            log.warning("request %d: %d context tokens dropped to fit n_ctx=%d", i, drop, self._n_ctx)
            whole, split = whole[drop:], split - drop
        return whole, split

    def _loglik_rows(self, logits: np.ndarray, cont: list[int]) -> LogLik:
        logp = _log_softmax(logits)
        idx = np.asarray(cont)
        tok_lp = logp[np.arange(len(cont)), idx]
        greedy = bool((logp.argmax(axis=-1) == idx).all())
        return LogLik(
            token_logprobs=tuple(float(x) for x in tok_lp), tokens=tuple(self._piece(t) for t in cont), is_greedy=greedy
        )

    def _loglikelihood(self, requests: list[tuple[str, str]], progress: Progress | None) -> list[LogLik]:
        out = []
        for i, (prompt, cont) in enumerate(requests):
            ids, split = self._encode_pair(i, prompt, cont)
            self.llm.reset()
            self.llm.eval(ids)
            out.append(self._loglik_rows(np.array(self.llm.scores[split - 1 : len(ids) - 1]), ids[split:]))
            if progress is not None:
                progress(i + 1, len(requests))
        return out

    def _score_options(self, prompt: str, options: list[str], kv_reuse: bool | None) -> OptionScores:
        reuse = self.kv_reuse if kv_reuse is None else kv_reuse
        if not reuse:
            return super()._score_options(prompt, options, kv_reuse)
        encs = [self._encode_pair(i, prompt, o) for i, o in enumerate(options)]
        shared = min(split for _, split in encs)
        self.llm.reset()
        self.llm.eval(encs[0][0][:shared])
        out = []
        for ids, split in encs:
            self.llm.n_tokens = shared  # rewind: eval() drops the KV cells past n_tokens
            if len(ids) > shared:
                self.llm.eval(ids[shared:])
            out.append(self._loglik_rows(np.array(self.llm.scores[split - 1 : len(ids) - 1]), ids[split:]))
        return OptionScores.from_logliks(out)

    def _generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int,
        stop: list[str],
        temperature: float,
        seed: int | None,
        n: int,
        progress: Progress | None,
    ) -> list[Generation]:
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] % (2**31))
        out = []
        samples = n if temperature > 0 else 1
        for i, prompt in enumerate(prompts):
            for j in range(samples):
                sub = int(np.random.SeedSequence([seed, i, j]).generate_state(1)[0] & 0x7FFFFFFF)
                res: dict[str, Any] = self.llm.create_completion(
                    prompt,
                    max_tokens=max_new_tokens,
                    temperature=temperature,
                    stop=stop or None,
                    seed=sub,
                    logprobs=1,
                    top_k=0,
                    top_p=1.0,
                    min_p=0.0,
                    repeat_penalty=1.0,
                )
                choice = res["choices"][0]
                text = choice.get("text") or ""
                lp = choice.get("logprobs") or {}
                lps = [float(x) for x in (lp.get("token_logprobs") or []) if x is not None]
                cut, found = cut_at_stop(text, stop)
                reason = (
                    "stop"
                    if found or (choice.get("finish_reason") == "stop" and stop)
                    else ("eos" if choice.get("finish_reason") == "stop" else "length")
                )
                gens = [Generation(cut, tuple(lps), reason, i, j)]
                if samples == 1 and n > 1:
                    gens = [Generation(cut, tuple(lps), reason, i, k) for k in range(n)]
                out.extend(gens)
            if progress is not None:
                progress(i + 1, len(prompts))
        return out
