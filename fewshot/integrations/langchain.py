"""A LangChain example selector backed by a fewshot pool.

Implements LangChain's example-selector interface (``select_examples`` / ``add_example`` and
their async twins) without importing LangChain; when ``langchain_core`` is installed the class is
registered as a virtual subclass of its ``BaseExampleSelector``, so ``FewShotPromptTemplate``
accepts it::

    from fewshot import Workspace
    from fewshot.integrations.langchain import FewshotExampleSelector

    selector = FewshotExampleSelector(Workspace.open(), "sst5", k=4, input_key="review",
                                      output_key="sentiment")
    FewShotPromptTemplate(example_selector=selector, example_prompt=..., suffix=..., input_variables=["review"])
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError

if TYPE_CHECKING:
    from ..service.workspace import Workspace

__all__ = ["FewshotExampleSelector"]


class FewshotExampleSelector:
    """Selects demonstrations for LangChain prompts from a fewshot pool's labeled items.

    ``input_key`` names the prompt variable holding the query (default: the only variable
    given); examples come back as ``{input_key: text, output_key: label, **fields}``.
    """

    def __init__(
        self,
        workspace: Workspace,
        pool: str,
        *,
        k: int = 4,
        retriever: str = "dense",
        input_key: str | None = None,
        output_key: str = "label",
        **retriever_params: Any,
    ) -> None:
        self.workspace, self.pool, self.k = workspace, pool, k
        self.retriever, self.retriever_params = retriever, retriever_params
        self.input_key, self.output_key = input_key, output_key

    def _query(self, input_variables: dict[str, Any]) -> str:
        if self.input_key is not None:
            if self.input_key not in input_variables:
                raise InvalidInputError(f"input variables lack {self.input_key!r}: {sorted(input_variables)}")
            return str(input_variables[self.input_key])
        if len(input_variables) != 1:
            raise InvalidInputError(f"several input variables {sorted(input_variables)}: set input_key")
        return str(next(iter(input_variables.values())))

    def select_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The k best demonstrations for the query in ``input_variables``, most similar first."""
        demos = self.workspace.retrieve(
            self.pool, [self._query(input_variables)], k=self.k, retriever=self.retriever, **self.retriever_params
        )[0]
        key = self.input_key or "input"
        return [{**d.example.fields, key: d.text, self.output_key: d.label} for d in demos]

    def add_example(self, example: dict[str, Any]) -> str:
        """Add a labeled example to the pool and to its index (incrementally); returns its id."""
        key = self.input_key or "input"
        if key not in example or self.output_key not in example:
            raise InvalidInputError(f"an example needs {key!r} and {self.output_key!r}, got {sorted(example)}")
        ext_id = str(example.get("id") or f"lc-{uuid.uuid4().hex[:12]}")
        record = {**example, "id": ext_id, "text": example[key], "label": example[self.output_key]}
        self.workspace.add_records(self.pool, [record], label_field="label")
        self.workspace.build_index(self.pool)
        return ext_id

    async def aselect_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        return self.select_examples(input_variables)

    async def aadd_example(self, example: dict[str, Any]) -> str:
        return self.add_example(example)


try:  # register with LangChain when it is installed, so its pydantic checks accept the selector
    from langchain_core.example_selectors import BaseExampleSelector

    BaseExampleSelector.register(FewshotExampleSelector)
except ImportError:  # LangChain is optional
    pass
