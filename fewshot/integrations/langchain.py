"""A LangChain example selector backed by a fewshot pool.

A drop-in for LangChain's ``SemanticSimilarityExampleSelector``: the same ``k``, ``input_keys``
and ``example_keys`` (and a ``from_examples`` constructor), ``select_examples`` /
``add_example`` and their async twins, written without importing LangChain. When
``langchain_core`` is installed the class is registered as a virtual subclass of its
``BaseExampleSelector``, so ``FewShotPromptTemplate`` accepts it::

    from fewshot import Workspace
    from fewshot.integrations.langchain import FewshotExampleSelector

    ws = Workspace.open()
    selector = FewshotExampleSelector.from_examples(
        [{"input": "happy", "output": "sad"}, ...], k=2, input_keys=["input"], workspace=ws, pool="antonyms"
    )
    # or over a pool that is already labeled and indexed:
    selector = FewshotExampleSelector(ws, "sst5", k=4, input_key="review", output_key="sentiment")
    FewShotPromptTemplate(example_selector=selector, example_prompt=..., suffix=..., input_variables=["review"])

Examples come back with the declared keys only: the keys of the example as it was given to
``from_examples`` / ``add_example``, or ``{input key: text, output_key: label}`` for items
ingested otherwise; ``example_keys`` narrows them further (as in LangChain). Other pool fields
(the gold label column, ids, metadata) never leak into the prompt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError

if TYPE_CHECKING:
    from ..service.workspace import Workspace

__all__ = ["FewshotExampleSelector", "EXAMPLE_FIELD"]

#: The pool field that keeps an example added through the selector exactly as it was given
#: (as a JSON string: retrieval carries scalar fields only).
EXAMPLE_FIELD = "langchain_example"

_ARGS = ("k", "retriever", "input_keys", "example_keys", "input_key", "output_key", "retriever_params")


def _sorted_values(values: Mapping[str, Any]) -> list[Any]:
    return [values[key] for key in sorted(values)]


class FewshotExampleSelector:
    """Selects demonstrations for LangChain prompts from a fewshot pool's labeled items.

    Parameters
    ----------
    workspace, pool
        Where the labeled, indexed examples are.
    k : int
        How many examples `select_examples` returns.
    retriever : str
        The fewshot retriever (``dense`` by default, cosine similarity like LangChain's).
    input_keys : list of str, optional
        As in LangChain: the query is the values of these input variables, joined by spaces in
        key order (all variables when None).
    example_keys : list of str, optional
        As in LangChain: returned examples keep only these keys.
    input_key : str, optional
        The key that holds the item text in examples of pools ingested without the selector
        (default: the only ``input_keys`` entry, else ``"input"``); when set, the query is
        ``input_variables[input_key]``.
    output_key : str
        The key that holds the label (default ``"label"``).
    retriever_params : mapping, optional
        Passed to the retriever (e.g. ``{"lam": 0.5}`` for MMR).

    Unknown keyword arguments raise `TypeError` (nothing is silently ignored).
    """

    def __init__(
        self,
        workspace: Workspace,
        pool: str,
        *,
        k: int = 4,
        retriever: str = "dense",
        input_keys: Sequence[str] | None = None,
        example_keys: Sequence[str] | None = None,
        input_key: str | None = None,
        output_key: str = "label",
        retriever_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise TypeError(
                f"FewshotExampleSelector got unknown keyword arguments {sorted(unknown)}; it takes "
                f"{', '.join(_ARGS)} (retriever options go in retriever_params={{...}})"
            )
        if isinstance(input_keys, str) or isinstance(example_keys, str):
            raise InvalidInputError("input_keys and example_keys are lists of keys, not a string")
        if not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        self.workspace, self.pool, self.k = workspace, pool, k
        self.retriever, self.retriever_params = retriever, dict(retriever_params or {})
        self.input_keys = None if input_keys is None else list(input_keys)
        self.example_keys = None if example_keys is None else list(example_keys)
        self.input_key, self.output_key = input_key, output_key

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Mapping[str, Any]],
        embeddings: Any = None,
        vectorstore_cls: Any = None,
        k: int = 4,
        input_keys: Sequence[str] | None = None,
        *,
        example_keys: Sequence[str] | None = None,
        workspace: Workspace | None = None,
        pool: str | None = None,
        output_key: str | None = None,
        input_key: str | None = None,
        retriever: str = "dense",
        retriever_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> FewshotExampleSelector:
        """Put ``examples`` into ``pool`` (created when missing), index them, and select from them.

        The signature follows ``SemanticSimilarityExampleSelector.from_examples``; the pool's index
        plays the vector store, so ``vectorstore_cls`` must be None, and ``embeddings`` is None (the
        pool's embedding model) or a loaded `fewshot.embed.Embedder` to use for the pool. Each
        example is indexed by the same text LangChain embeds (the values of ``input_keys``, or of
        all keys, joined by spaces in key order) and labeled by ``output_key`` (default: the one key
        outside ``input_keys``, else ``"output"`` or ``"label"`` when every example has it).
        Examples already in the pool (same text) are not added twice.
        """
        if unknown:
            raise TypeError(
                f"from_examples got unknown keyword arguments {sorted(unknown)}; it takes examples, "
                f"embeddings, vectorstore_cls (None), workspace, pool, {', '.join(_ARGS)}"
            )
        if workspace is None or not pool:
            raise InvalidInputError("from_examples needs workspace= (a fewshot Workspace) and pool= (a pool name)")
        if vectorstore_cls is not None:
            raise InvalidInputError(
                "vectorstore_cls is not used: the fewshot pool's index is the vector store (leave it None)"
            )
        if not examples:
            raise InvalidInputError("from_examples needs at least one example")
        model = None
        if embeddings is not None:
            from ..embed import Embedder

            if not isinstance(embeddings, Embedder):
                raise InvalidInputError(
                    "embeddings must be None (the pool's embedding model) or a fewshot.embed.Embedder, "
                    f"got {type(embeddings).__name__}; LangChain Embeddings objects are not used"
                )
            workspace.use_embedder(embeddings)
            model = embeddings.model_name
        out_key = output_key or _infer_output_key(examples, input_keys)
        names = {p.name for p in workspace.list_pools()}
        if pool not in names:
            workspace.create_pool(pool, **({"embedding_model": model} if model else {}))
        selector = cls(
            workspace,
            pool,
            k=k,
            retriever=retriever,
            input_keys=input_keys,
            example_keys=example_keys,
            input_key=input_key,
            output_key=out_key,
            retriever_params=retriever_params,
        )
        selector._add(examples)
        return selector

    # ------------------------------------------------------------------ LangChain's interface
    def select_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The k best examples for the query in ``input_variables``, most similar first."""
        demos = self.workspace.retrieve(
            self.pool, [self._query(input_variables)], k=self.k, retriever=self.retriever, **self.retriever_params
        )[0]
        return [self._to_example(d.example.text, d.example.label, d.example.fields) for d in demos]

    def add_example(self, example: dict[str, Any]) -> str:
        """Add a labeled example to the pool and its index (incrementally); returns its id.

        An example whose text is already in the pool is not added again: the id returned is the
        existing item's (an id that is in the pool).
        """
        return self._add([example])[0]

    async def aselect_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        return self.select_examples(input_variables)

    async def aadd_example(self, example: dict[str, Any]) -> str:
        return self.add_example(example)

    # ------------------------------------------------------------------ helpers
    @property
    def text_key(self) -> str:
        """The key of the item text in examples of items not added through the selector."""
        if self.input_key is not None:
            return self.input_key
        if self.input_keys is not None and len(self.input_keys) == 1:
            return self.input_keys[0]
        return "input"

    def _query(self, values: Mapping[str, Any]) -> str:
        """The text LangChain would embed for ``values`` (``input_key`` alone when it is set)."""
        if self.input_key is not None and self.input_keys is None:
            if self.input_key not in values:
                raise InvalidInputError(f"input variables lack {self.input_key!r}: {sorted(values)}")
            return str(values[self.input_key])
        if self.input_keys is not None:
            missing = [key for key in self.input_keys if key not in values]
            if missing:
                raise InvalidInputError(f"input variables lack {', '.join(map(repr, missing))}: {sorted(values)}")
            values = {key: values[key] for key in self.input_keys}
        if not values:
            raise InvalidInputError("no input variables to search with")
        return " ".join(str(v) for v in _sorted_values(values))

    def _to_example(self, text: str, label: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        given = fields.get(EXAMPLE_FIELD)
        if isinstance(given, str) and given.startswith("{"):
            example = json.loads(given)
        else:
            example = {self.text_key: text, self.output_key: label}
            example.update({k: fields[k] for k in self.example_keys or () if k in fields and k not in example})
        if self.example_keys is not None:
            example = {k: example[k] for k in self.example_keys if k in example}
        return example

    def _add(self, examples: Sequence[Mapping[str, Any]]) -> list[str]:
        records = []
        for example in examples:
            if not isinstance(example, Mapping):
                raise InvalidInputError(f"an example is a dict, got {type(example).__name__}")
            query_keys = [self.input_key] if self.input_key is not None and self.input_keys is None else []
            needed = [*query_keys, *(self.input_keys or []), self.output_key]
            if any(key not in example for key in needed):
                raise InvalidInputError(
                    f"an example needs {' and '.join(map(repr, dict.fromkeys(needed)))}, got {sorted(example)}"
                )
            ext_id = str(example.get("id") or f"lc-{uuid.uuid4().hex[:12]}")
            try:
                stored = json.dumps(dict(example), ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"an example's values must be JSON values: {exc}") from None
            label = example[self.output_key]
            records.append({"id": ext_id, "text": self._query(example), "label": str(label), EXAMPLE_FIELD: stored})
        report = self.workspace.add_records(self.pool, records, label_field="label")
        dup_of = {line: owner for line, _, owner in report.duplicates}
        if report.duplicate_count > len(report.duplicates):  # only the first 20 are listed: look the rest up
            dup_of.update(self._owners(records, set(dup_of)))
        self.workspace.build_index(self.pool)
        return [dup_of.get(line, rec["id"]) for line, rec in enumerate(records, start=1)]

    def _owners(self, records: list[dict[str, Any]], known: set[int]) -> dict[int, str]:
        """Existing ids of records whose text is already in the pool (beyond the report's list)."""
        by_text = {ex.text: ex.external_id for ex in self.workspace.iter_examples(self.pool)}
        return {
            line: by_text[rec["text"]]
            for line, rec in enumerate(records, start=1)
            if line not in known and rec["text"] in by_text and by_text[rec["text"]] != rec["id"]
        }


def _infer_output_key(examples: Sequence[Mapping[str, Any]], input_keys: Sequence[str] | None) -> str:
    keys = set.intersection(*(set(ex) for ex in examples))
    rest = sorted(keys - set(input_keys or ()))
    if input_keys is not None and len(rest) == 1:
        return rest[0]
    for key in ("output", "label"):
        if key in keys:
            return key
    raise InvalidInputError(f"set output_key: which of {sorted(keys)} holds the example's label?")


try:  # register with LangChain when it is installed, so its pydantic checks accept the selector
    from langchain_core.example_selectors import BaseExampleSelector

    BaseExampleSelector.register(FewshotExampleSelector)
except ImportError:  # LangChain is optional
    pass
