"""fewshot.retrieve: find demonstrations for queries among labeled items.

Layers, bottom up:

* `DenseIndex` -- FAISS inner-product index with caller int64 ids, in-search id filtering,
  atomic versioned save/load. Returns `Hits` (arrays of shape (m, k)).
* `Encoder` / `SentenceEncoder` -- texts to vectors (bundled all-MiniLM-L6-v2 by default).
* `Corpus` of `Example` items (id, text, label, output, skills, fields) and `Filter`
  conditions on them.
* Retrievers sharing one batched interface (`Retriever`): `RandomRetriever`,
  `BM25Retriever`, `DenseRetriever`, `MMRRetriever`, `LabelBalancedRetriever`;
  `get_retriever(name, corpus, **params)` builds one by name.

No storage concerns live here: ids are whatever the caller supplies.
"""

from __future__ import annotations

from fewshot.embed import DEFAULT_MODEL, Encoder, SentenceEncoder, bundled_model_path
from fewshot.retrieve._balanced import LabelBalancedRetriever
from fewshot.retrieve._base import BaseRetriever, Demo, FilterArg, Queries, Retriever
from fewshot.retrieve._bm25 import BM25Retriever
from fewshot.retrieve._corpus import CORE_FIELDS, Corpus, Example
from fewshot.retrieve._dense import DenseRetriever
from fewshot.retrieve._factory import RETRIEVERS, get_retriever
from fewshot.retrieve._filter import Filter
from fewshot.retrieve._hits import PAD_ID, Hits, QueryHits
from fewshot.retrieve._index import FILTER_STRATEGIES, INDEX_KINDS, METRICS, DenseIndex
from fewshot.retrieve._mmr import MMRRetriever, mmr_select
from fewshot.retrieve._random import RandomRetriever

__all__ = [
    "BM25Retriever",
    "BaseRetriever",
    "CORE_FIELDS",
    "Corpus",
    "DEFAULT_MODEL",
    "Demo",
    "DenseIndex",
    "DenseRetriever",
    "Encoder",
    "Example",
    "FILTER_STRATEGIES",
    "Filter",
    "FilterArg",
    "Hits",
    "INDEX_KINDS",
    "LabelBalancedRetriever",
    "METRICS",
    "MMRRetriever",
    "PAD_ID",
    "Queries",
    "QueryHits",
    "RETRIEVERS",
    "RandomRetriever",
    "Retriever",
    "SentenceEncoder",
    "bundled_model_path",
    "get_retriever",
    "mmr_select",
]
