"""`get_retriever`: build a retriever by name."""

from __future__ import annotations

import inspect
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.registry import Registry
from fewshot.retrieve._balanced import LabelBalancedRetriever
from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._bm25 import BM25Retriever
from fewshot.retrieve._corpus import Corpus
from fewshot.retrieve._dense import DenseRetriever
from fewshot.retrieve._mmr import MMRRetriever
from fewshot.retrieve._random import RandomRetriever

__all__ = ["get_retriever", "RETRIEVERS"]

#: Retriever classes by name. A class registered here (``RETRIEVERS.register(name, cls)``) is
#: usable by `get_retriever`, the service, the CLI, the API and evaluation configs. A class whose
#: ``needs_dense`` is True is built over a `DenseRetriever` (``cls(dense, **params)``), any other
#: over a `Corpus` (``cls(corpus, **params)``).
RETRIEVERS: Registry[type[BaseRetriever]] = Registry("retriever")
for _cls in (RandomRetriever, BM25Retriever, DenseRetriever, MMRRetriever, LabelBalancedRetriever):
    RETRIEVERS.register(_cls.name, _cls)

_DENSE_PARAMS = ("encoder", "query_encoder", "index", "kind", "metric", "filter_strategy", "n_threads", "use_gpu")


def get_retriever(name: str, corpus: Corpus | None = None, **params: Any) -> BaseRetriever:
    """Build the retriever called ``name`` over ``corpus``.

    Names: ``random``, ``bm25``, ``dense``, ``mmr``, ``label_balanced``. ``params`` go to
    the class. For ``mmr`` and ``label_balanced``, pass an existing ``dense=`` retriever, or
    the dense options (``encoder``, ``kind``, ``metric``, ...) to build one over ``corpus``.

    >>> from fewshot.retrieve import Corpus, Example
    >>> r = get_retriever("random", Corpus([Example(id=1, text="a")]), seed=0)
    >>> type(r).__name__
    'RandomRetriever'
    """
    cls = RETRIEVERS.get(name)
    if getattr(cls, "needs_dense", False):
        dense = params.pop("dense", None)
        dense_params = {p: params.pop(p) for p in _DENSE_PARAMS if p in params}
        if dense is not None and dense_params:
            raise InvalidInputError(f"pass either dense= or dense options, not both: {sorted(dense_params)}")
        if dense is None:
            if corpus is None:
                raise InvalidInputError(f"{name} needs a corpus or dense=")
            _check_params(DenseRetriever, dense_params)
            dense = DenseRetriever(corpus, **dense_params)
        _check_params(cls, params)
        return cls(dense, **params)
    if corpus is None:
        raise InvalidInputError(f"{name} needs a corpus")
    _check_params(cls, params)
    return cls(corpus, **params)


def _check_params(cls: type, params: dict[str, Any]) -> None:
    """Reject keyword arguments the constructor does not take, naming them."""
    accepted = inspect.signature(cls).parameters
    unknown = sorted(
        set(params)
        - {
            n
            for n, p in accepted.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY or p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        }
    )
    if unknown:
        raise InvalidInputError(f"{cls.__name__} does not take {unknown}")
