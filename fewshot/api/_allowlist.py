"""Server-side allow-lists: what an API request may name that reaches outside the process.

Over the REST API a request never gives an LM spec, a tokenizer spec, a URL or a file path. It
names an entry the operator configured (``Settings.lm_backends``, ``Settings.tokenizers``,
``Settings.embedding_models``: ``fewshot serve --lm prod=openai:https://host/v1#model``, the
``FEWSHOT_LM_BACKENDS`` JSON env variable, or a settings file), and the route resolves that name
to the operator's spec before calling the service. So the server's secrets (``OPENAI_API_KEY``)
only ever go to hosts the operator configured, and no request can make the server open a file.

Usable without configuration, because they need no outside resource:

* LM backends: the offline models ``smollm2`` and ``gemma3-270m`` (files shipped in packages);
* tokenizers: ``approx`` and ``approx:<chars per token>`` (a finite number from 0.1 to 100);
* embedding models: the bundled all-MiniLM-L6-v2 under its usual names, and the server's default
  (``Settings.embedding_model``).

Anything else is a 422 naming the field and the configured names. Library and CLI users keep
full specs: only the API is untrusted.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.exceptions import RequestValidationError

from ..config import DEFAULT_EMBEDDING_MODEL, Settings
from ..exceptions import InvalidInputError
from ..lm import OFFLINE_MODELS
from ..prompt._tokens import MAX_CHARS_PER_TOKEN, MIN_CHARS_PER_TOKEN, parse_chars_per_token

__all__ = ["resolve_lm", "resolve_tokenizer", "resolve_embedding_model", "BUILTIN_EMBEDDING_MODELS"]

#: The bundled embedding model's names (loaded from a package, offline).
BUILTIN_EMBEDDING_MODELS = frozenset(
    {DEFAULT_EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "bundled", "default"}
)


def _refuse(loc: tuple[str | int, ...], kind: str, names: Iterable[str], extra: str = "") -> RequestValidationError:
    shown = ", ".join(sorted(set(names))) or "none"
    msg = (
        f"not a configured {kind}: a request names one of the server's entries ({shown}){extra}; "
        "URLs, file paths and backend specs are not accepted over the API"
    )
    return RequestValidationError([{"type": "not_allowed", "loc": loc, "msg": msg, "input": None}])


def resolve_lm(settings: Settings, name: str | None, *, loc: tuple[str | int, ...] = ("body", "lm")) -> str | None:
    """An allow-listed LM name, returned as is (None stays None); 422 for anything else. The service
    resolves a configured name to the operator's spec when it opens the backend
    (`ServiceContext.lm_spec`), so jobs and model records show the name, never the URL."""
    if name is None:
        return None
    if name in settings.lm_backends or name in OFFLINE_MODELS:
        return name
    raise _refuse(loc, "LM backend", [*settings.lm_backends, *OFFLINE_MODELS])


def resolve_tokenizer(
    settings: Settings, name: str | None, *, loc: tuple[str | int, ...] = ("body", "tokenizer")
) -> str | None:
    """The tokenizer spec for an allow-listed name or ``approx[:<number>]``; 422 for anything else."""
    if name is None:
        return None
    if name in settings.tokenizers:
        return settings.tokenizers[name]
    if name == "approx":
        return name
    kind, sep, arg = name.partition(":")
    if kind == "approx" and sep:
        try:
            parse_chars_per_token(arg)
        except InvalidInputError:
            msg = (
                f"approx:<chars per token> needs a finite number from {MIN_CHARS_PER_TOKEN:g} "
                f"to {MAX_CHARS_PER_TOKEN:g}"
            )
            raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": None}]) from None
        return name
    raise _refuse(loc, "tokenizer", ["approx", *settings.tokenizers], " or approx:<chars per token>")


def resolve_embedding_model(
    settings: Settings, name: str | None, *, loc: tuple[str | int, ...] = ("body", "embedding_model")
) -> str | None:
    """The embedding model for an allow-listed name (None: the server's default); 422 otherwise."""
    if name is None:
        return None
    if name in settings.embedding_models:
        return settings.embedding_models[name]
    if name in BUILTIN_EMBEDDING_MODELS or name == settings.embedding_model:
        return name
    raise _refuse(loc, "embedding model", [*settings.embedding_models, DEFAULT_EMBEDDING_MODEL])
