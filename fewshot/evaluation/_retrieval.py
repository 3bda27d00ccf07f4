"""Step 4 of the protocol: demonstrations for the scored test items, from the annotated items
only, by any retriever registered in `fewshot.retrieve.RETRIEVERS`.

Every retriever works over a `Corpus` of the annotated items and the run's embeddings:

* ``dense`` (`DenseRetriever` itself) is exact cosine kNN over the selection embeddings, queried
  with the test items' embeddings (no second model);
* a class with ``needs_dense`` (``mmr``, ``label_balanced``...) is built over that same dense
  retriever (``cls(dense, **params)``) and queried with the test items' embeddings;
* any other class is built over the corpus (``cls(corpus, **params)``) and queried with the test
  items' texts.

``params`` are the config's ``retriever_params`` for that name; a constructor that takes ``seed``
gets the run's seed (``random``: a new draw per seed, reproducible).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from fewshot.retrieve import RETRIEVERS, BaseRetriever, Corpus, DenseRetriever, Example, get_retriever

__all__ = ["retrieve_neighbors", "similarities", "takes_seed"]


def takes_seed(cls: type) -> bool:
    """Whether the retriever class's constructor takes a ``seed`` (the run passes its own)."""
    return "seed" in inspect.signature(cls).parameters


def retrieve_neighbors(
    name: str,
    params: dict[str, Any],
    annotated: list[Example],
    ann_unit: np.ndarray,
    queries: list[Example],
    query_unit: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """(m, k) positions in ``annotated`` of each query's demonstrations, best first; -1 pads."""
    corpus = Corpus(annotated)
    keys = corpus.keys()
    if not np.array_equal(keys, np.arange(len(annotated))):  # a fresh corpus numbers 0..n-1
        raise AssertionError("unexpected corpus keys")
    cls = RETRIEVERS.get(name)
    retriever: BaseRetriever
    kwargs = dict(params)
    if takes_seed(cls):
        kwargs["seed"] = seed
    on_vectors = cls is DenseRetriever or cls.needs_dense
    if on_vectors:
        dense = DenseRetriever.from_vectors(corpus, ann_unit, kind="flat", metric="cosine")
        retriever = dense if cls is DenseRetriever else get_retriever(name, corpus, dense=dense, **kwargs)
        return retriever.search(query_unit, k).ids
    retriever = get_retriever(name, corpus, **kwargs)
    return retriever.search([q.text for q in queries], k).ids


def similarities(query_unit: np.ndarray, ann_unit: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Cosine of each query to each of its retrieved demonstrations (0 for padding)."""
    full = query_unit @ ann_unit.T
    safe = np.where(nbr < 0, 0, nbr)
    sims = np.take_along_axis(full, safe, axis=1)
    return np.where(nbr < 0, 0.0, sims)
