"""`HFCausalLM`: a local Hugging Face causal LM (a directory, a cached name, or a GGUF file).

Loading is offline only (``local_files_only=True``): a model directory written by
``save_pretrained``, a name already in the local Hugging Face cache, or a ``.gguf`` file, which
transformers dequantises to float (needs the ``gguf`` package; transformers supports GGUF for a
list of architectures -- llama, mistral, qwen2, gemma2/3, ... -- and the common quant types).

Computation: ``torch.inference_mode``, float32 on CPU (bfloat16 on CUDA unless ``dtype`` says
otherwise), batches of ``batch_size`` sequences sorted by length. Scoring batches are padded on
the left with explicit position ids, so every row ends at the last column and only the last
``max continuation length + 1`` positions are projected onto the vocabulary
(``logits_to_keep``), which keeps memory small for 256k-token vocabularies.

`score_options` runs the prompt once and scores the options on its KV cache, expanded to a batch
of options (prefix KV-cache reuse); ``kv_reuse=False`` scores each (prompt, option) pair in full.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fewshot.exceptions import InvalidInputError, MissingDependencyError, NotFoundError
from fewshot.lm._hf_generate import generate_batch
from fewshot.lm._hf_tokens import PairEncoder, PairEncoding
from fewshot.lm._results import Generation, LogLik, OptionScores
from fewshot.lm.base import LMBackend, Progress

__all__ = ["HFCausalLM"]

log = logging.getLogger(__name__)
#: Serialises model loading: transformers builds a model on the "meta" device by patching
#: ``torch.nn.Module`` process-wide while it loads, so a model built in another thread at the same
#: moment gets meta tensors ("Cannot copy out of meta tensor"; seen when a GGUF model loaded in a
#: job thread while a request loaded another model).
_LOAD_LOCK = threading.RLock()

_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "float16": torch.float16,
        "fp16": torch.float16,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
    }
    if dtype not in table:
        raise InvalidInputError(f"unknown dtype {dtype!r}; one of {sorted(table)}")
    return table[dtype]


class HFCausalLM(LMBackend):
    """A causal LM from transformers, scored and decoded locally.

    Build one with `HFCausalLM.from_pretrained` (which loads files) or pass a loaded model and
    tokenizer.

    Parameters
    ----------
    model : transformers PreTrainedModel with a causal LM head
    tokenizer : the matching tokenizer
    name : str, optional
        Shown in `name` (default: the model's ``name_or_path``).
    batch_size : int
        Sequences per forward pass (scoring and generation), and options per pass when reusing
        the prompt's KV cache.
    kv_reuse : bool
        Default of `score_options`'s ``kv_reuse``.
    max_context : int, optional
        Override the context length read from the model config.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str | None = None,
        batch_size: int = 8,
        kv_reuse: bool = True,
        max_context: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.kv_reuse = bool(kv_reuse)
        self._name = name or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        self._max_context = max_context if max_context is not None else self._config_context()
        self._enc = PairEncoder(tokenizer, self._max_context)
        self.device = next(model.parameters()).device
        params = inspect.signature(model.forward).parameters
        self._has_logits_to_keep = "logits_to_keep" in params
        self._has_position_ids = "position_ids" in params
        # transformers >= 5.2x names the KV cache argument (and output field) `cache`
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.pad_id = int(pad)
        self.eos_ids = self._eos_ids()

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike[str],
        *,
        gguf_file: str | None = None,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 8,
        kv_reuse: bool = True,
        max_context: int | None = None,
        name: str | None = None,
        trust_remote_code: bool = False,
    ) -> HFCausalLM:
        """Load a model from local files only.

        Parameters
        ----------
        model : str or path
            A directory with a saved model, a ``.gguf`` file, a directory holding ``gguf_file``,
            or a model name already in the local Hugging Face cache. Nothing is downloaded.
        gguf_file : str, optional
            File name of a GGUF model inside the directory ``model``.
        device : str, optional
            ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default CUDA when available.
        dtype : str or torch.dtype, optional
            Default float32 on CPU, bfloat16 (or float16) on CUDA.
        """
        try:
            import transformers
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingDependencyError("transformers", "lm") from None
        path = Path(model)
        if gguf_file is None and path.suffix == ".gguf":
            if not path.is_file():
                raise NotFoundError(f"GGUF file not found: {path}")
            path, gguf_file = path.parent, path.name
            model = str(path)
        if gguf_file is not None:
            import importlib.util

            if importlib.util.find_spec("gguf") is None:
                raise MissingDependencyError("gguf", "lm")
            if not (Path(model) / gguf_file).is_file():
                raise NotFoundError(f"GGUF file not found: {Path(model) / gguf_file}")
        device = device or _default_device()
        torch_dtype = _resolve_dtype(dtype, device)
        kw: dict[str, Any] = {"local_files_only": True, "trust_remote_code": trust_remote_code}
        if gguf_file is not None:
            kw["gguf_file"] = gguf_file
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        log.info("loading %s%s on %s (%s)", model, f" / {gguf_file}" if gguf_file else "", device, torch_dtype)
        try:
            with _LOAD_LOCK:  # one load at a time in this process (see _LOAD_LOCK)
                tok = AutoTokenizer.from_pretrained(str(model), **kw)
                lm = AutoModelForCausalLM.from_pretrained(str(model), **kw, **{dtype_kw: torch_dtype})
                lm.to(device)  # type: ignore[arg-type]  # transformers' stub types .to oddly
        except OSError as exc:
            raise NotFoundError(
                f"no local model {str(model)!r}{f' / {gguf_file}' if gguf_file else ''}: {exc}. "
                "Only local files are used: pass a directory, a .gguf file, or a name already "
                "in the Hugging Face cache"
            ) from exc
        except ValueError as exc:
            raise InvalidInputError(f"transformers cannot load {model!r}: {exc}") from exc
        label = name or (f"gguf:{Path(model) / gguf_file}" if gguf_file else f"hf:{model}")
        return cls(lm, tok, name=label, batch_size=batch_size, kv_reuse=kv_reuse, max_context=max_context)

    # -- description ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def max_context(self) -> int | None:
        return self._max_context

    def count_tokens(self, text: str) -> int:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        return self._enc.count(text)

    def _config_context(self) -> int | None:
        cfg = self.model.config
        cfg = getattr(cfg, "text_config", None) or cfg
        for key in _CONTEXT_KEYS:
            value = getattr(cfg, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gen_cfg = getattr(self.model, "generation_config", None)
        for value in (getattr(gen_cfg, "eos_token_id", None), self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(int(v) for v in value)
        vocab = self.model.get_output_embeddings().weight.shape[0]
        return {i for i in ids if 0 <= i < vocab}

    # -- forward helpers -------------------------------------------------------------------------

    def _forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor | None,
        *,
        keep: int = 0,
        past: Any = None,
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, Any]:
        """Run the model; return float32 logits of the last ``keep`` positions (0: all) and the cache."""
        kw: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "use_cache": use_cache or past is not None,
        }
        if past is not None:
            kw[self._cache_kw] = past
        if position_ids is not None and self._has_position_ids:
            kw["position_ids"] = position_ids
        if keep and self._has_logits_to_keep:
            kw["logits_to_keep"] = keep
        out = self.model(**kw)
        logits = out.logits
        if keep and logits.shape[1] > keep:
            logits = logits[:, -keep:]
        return logits.float(), (out.get(self._cache_kw) if use_cache or past is not None else None)

    def _left_pad(self, seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[r, width - len(s) :] = 1
        pos = (mask.cumsum(dim=1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), pos.to(self.device)

    def _token_texts(self, ids: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.tokenizer.decode([i]) for i in ids)

    # -- log-likelihood -------------------------------------------------------------------------

    def _loglikelihood(self, requests: list[tuple[str, str]], progress: Progress | None) -> list[LogLik]:
        encs = self._enc.pairs(requests)
        return self._score_encodings(encs, progress)

    def _score_encodings(self, encs: list[PairEncoding], progress: Progress | None) -> list[LogLik]:
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
        results: list[LogLik | None] = [None] * len(encs)
        done = 0
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                for i, ll in zip(chunk, self._score_batch([encs[i] for i in chunk])):
                    results[i] = ll
                done += len(chunk)
                if progress is not None:
                    progress(done, len(encs))
        return results  # type: ignore[return-value]

    def _score_batch(self, encs: list[PairEncoding]) -> list[LogLik]:
        """One left-padded forward pass; only the last ``max n_cont + 1`` positions get logits."""
        ids, mask, pos = self._left_pad([e.ids for e in encs])
        width = ids.shape[1]
        keep = max(e.n_cont for e in encs) + 1
        logits, _ = self._forward(ids, mask, pos, keep=keep)
        logp = torch.log_softmax(logits, dim=-1)
        offset = width - keep  # column of logits[:, 0]
        out = []
        for r, e in enumerate(encs):
            row_start = width - len(e.ids)
            cont = torch.tensor(e.ids[e.split :], device=logp.device)
            # token j of the row is predicted by column row_start + j - 1
            cols = torch.arange(e.split, len(e.ids), device=logp.device) + row_start - 1 - offset
            rows_lp = logp[r, cols]
            out.append(self._loglik(rows_lp, cont))
        return out

    def _loglik(self, row_logp: torch.Tensor, cont: torch.Tensor) -> LogLik:
        """LogLik from log-probs of shape (n_cont, vocab) and the continuation ids (n_cont,)."""
        tok_lp = row_logp.gather(1, cont[:, None])[:, 0]
        greedy = bool((row_logp.argmax(dim=-1) == cont).all())
        ids = cont.tolist()
        return LogLik(
            token_logprobs=tuple(float(x) for x in tok_lp.tolist()), tokens=self._token_texts(ids), is_greedy=greedy
        )

    # -- options ---------------------------------------------------------------------------------

    def _score_options(self, prompt: str, options: list[str], kv_reuse: bool | None) -> OptionScores:
        reuse = self.kv_reuse if kv_reuse is None else kv_reuse
        encs = self._enc.pairs([(prompt, o) for o in options])
        if not reuse or any(e.truncated for e in encs):
            return OptionScores.from_logliks(self._score_encodings(encs, None))
        with torch.inference_mode():
            return OptionScores.from_logliks(self._score_with_prefix_cache(encs))

    def _score_with_prefix_cache(self, encs: list[PairEncoding]) -> list[LogLik]:
        """Run the shared prefix once, then the options' tails in batches on copies of its cache."""
        shared = min(e.split for e in encs)  # whole[:shared] is the same for every option
        prefix = encs[0].ids[:shared]
        ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
        mask = torch.ones_like(ids)
        pos = torch.arange(shared, device=self.device)[None]
        last, cache = self._forward(ids, mask, pos, keep=1, use_cache=True)
        first_lp = torch.log_softmax(last[0, -1], dim=-1)  # predicts token `shared`
        out: list[LogLik] = []
        for start in range(0, len(encs), self.batch_size):
            chunk = encs[start : start + self.batch_size]
            tails = [e.ids[shared:] for e in chunk]
            width = max(len(t) for t in tails)
            t_ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            t_mask = torch.zeros((len(chunk), shared + width), dtype=torch.long)
            t_mask[:, :shared] = 1
            for r, t in enumerate(tails):
                t_ids[r, : len(t)] = torch.tensor(t, dtype=torch.long)
                t_mask[r, shared : shared + len(t)] = 1
            t_pos = (torch.arange(width) + shared)[None].expand(len(chunk), width)
            logits = None
            if width > 1:  # tails of one token need nothing beyond the prefix's last logits
                past = _expand_cache(cache, len(chunk))
                logits, _ = self._forward(
                    t_ids.to(self.device), t_mask.to(self.device), t_pos.to(self.device), past=past
                )
            for r, (e, t) in enumerate(zip(chunk, tails)):
                rows = [first_lp[None]]
                if len(t) > 1:
                    assert logits is not None  # width > 1 whenever a tail has several tokens
                    rows.append(torch.log_softmax(logits[r, : len(t) - 1], dim=-1))
                row_lp = torch.cat(rows, dim=0)[e.split - shared :]
                cont = torch.tensor(e.ids[e.split :], device=row_lp.device)
                out.append(self._loglik(row_lp, cont))
        return out

    # -- generation ------------------------------------------------------------------------------

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
        if temperature > 0 and seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] % (2**63))
        contexts = [self._enc.context(p, reserve=max_new_tokens) for p in prompts]
        samples = n if temperature > 0 else 1
        order = sorted(range(len(prompts)), key=lambda i: -len(contexts[i]))
        per_batch = max(1, self.batch_size // samples)
        results: dict[int, list[Generation]] = {}
        with torch.inference_mode():
            for start in range(0, len(order), per_batch):
                chunk = order[start : start + per_batch]
                gens = generate_batch(
                    self,
                    [contexts[i] for i in chunk],
                    chunk,
                    max_new_tokens=max_new_tokens,
                    stop=stop,
                    temperature=temperature,
                    seed=seed,
                    samples=samples,
                )
                for i, g in zip(chunk, gens):
                    results[i] = g
                if progress is not None:
                    progress(min(start + per_batch, len(order)), len(order))
        out: list[Generation] = []
        for i in range(len(prompts)):
            row = results[i]
            if samples == 1 and n > 1:
                row = [Generation(g.text, g.token_logprobs, g.finish_reason, i, j) for g in row for j in range(n)]
            out.extend(row)
        return out


def _expand_cache(cache: Any, batch: int) -> Any:
    """A copy of a batch-1 KV cache repeated ``batch`` times (the original stays untouched)."""
    if hasattr(cache, "batch_repeat_interleave"):
        copied = copy.deepcopy(cache)
        if batch > 1:
            copied.batch_repeat_interleave(batch)
        return copied
    # legacy tuple-of-tuples cache
    return tuple(tuple(t.expand(batch, *t.shape[1:]).contiguous() for t in layer) for layer in cache)
