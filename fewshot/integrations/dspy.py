"""A DSPy retriever of demonstrations backed by a fewshot pool (DSPy itself is optional).

`FewshotDSPyRetriever` is called like DSPy's ``KNN`` (``retriever(**input_fields)``) and returns
the k nearest labeled items of a pool as ``dspy.Example`` objects with their inputs marked
(``.with_inputs(...)``), so it fits ``KNNFewShot``-style programs; `knn_fewshot` builds a
``dspy.KNNFewShot`` optimizer that retrieves from the pool instead of an in-memory trainset::

    import dspy
    from fewshot import Workspace
    from fewshot.integrations.dspy import FewshotDSPyRetriever

    retriever = FewshotDSPyRetriever(Workspace.open(), "trec", k=4, input_keys=["question"], output_key="answer")
    retriever(question="Who wrote Hamlet?")        # [Example({'question': ..., 'answer': ...}) (input_keys={'question'}), ...]
    program = retriever.knn_fewshot(max_bootstrapped_demos=0).compile(dspy.Predict("question -> answer"))

Only the declared keys are in the examples (the input key and ``output_key``); other pool fields
(ids, gold columns, metadata) are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError, MissingDependencyError

if TYPE_CHECKING:
    from ..service.workspace import Workspace

__all__ = ["FewshotDSPyRetriever"]


def _dspy() -> Any:
    try:
        import dspy
    except ImportError:
        raise MissingDependencyError("dspy", "dspy") from None
    return dspy


class FewshotDSPyRetriever:
    """The k nearest labeled items of a pool as ``dspy.Example`` demonstrations.

    Parameters
    ----------
    workspace, pool
        Where the labeled, indexed items are (``fewshot index`` / `Workspace.build_index`).
    k : int
        How many demonstrations a call returns, most similar first.
    input_keys : list of str, optional
        The program's input fields. A call searches with their values (joined by spaces, in this
        order); each example carries the item text under the first of them (default
        ``["text"]``), marked as its input (``with_inputs(input_keys[0])``).
    output_key : str
        The field that holds the item's label (default ``"label"``).
    retriever : str
        The fewshot retriever (``dense`` by default).
    retriever_params : mapping, optional
        Passed to the retriever.

    Unknown keyword arguments raise `TypeError`.
    """

    def __init__(
        self,
        workspace: Workspace,
        pool: str,
        k: int = 3,
        *,
        input_keys: Sequence[str] | None = None,
        output_key: str = "label",
        retriever: str = "dense",
        retriever_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise TypeError(
                f"FewshotDSPyRetriever got unknown keyword arguments {sorted(unknown)}; it takes k, input_keys, "
                "output_key, retriever, retriever_params"
            )
        if isinstance(input_keys, str):
            raise InvalidInputError("input_keys is a list of field names, not a string")
        if not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        keys = list(input_keys) if input_keys is not None else ["text"]
        if not keys:
            raise InvalidInputError("input_keys needs at least one field name")
        if output_key in keys:
            raise InvalidInputError(f"output_key {output_key!r} is also an input key")
        self.workspace, self.pool, self.k = workspace, pool, k
        self.input_keys, self.output_key = keys, output_key
        self.retriever, self.retriever_params = retriever, dict(retriever_params or {})

    def query_text(self, inputs: Mapping[str, Any]) -> str:
        """The text searched for: the values of the input keys given, joined by spaces."""
        present = [key for key in self.input_keys if key in inputs]
        if not present:
            raise InvalidInputError(f"inputs lack {', '.join(map(repr, self.input_keys))}: got {sorted(inputs)}")
        return " ".join(str(inputs[key]) for key in present)

    def __call__(self, **inputs: Any) -> list[Any]:
        """The k nearest demonstrations for the program's inputs (as DSPy's ``KNN`` is called)."""
        return self.retrieve(inputs)

    def retrieve(self, inputs: str | Mapping[str, Any]) -> list[Any]:
        """``dspy.Example`` demonstrations for a query text or a mapping of input fields."""
        dspy = _dspy()
        query = inputs if isinstance(inputs, str) else self.query_text(inputs)
        demos = self.workspace.retrieve(
            self.pool, [query], k=self.k, retriever=self.retriever, **self.retriever_params
        )[0]
        text_key = self.input_keys[0]
        return [
            dspy.Example(**{text_key: d.example.text, self.output_key: d.example.label}).with_inputs(text_key)
            for d in demos
        ]

    def knn_fewshot(self, **few_shot_bootstrap_args: Any) -> Any:
        """A ``dspy.KNNFewShot`` optimizer whose nearest neighbours come from this pool.

        ``few_shot_bootstrap_args`` go to ``BootstrapFewShot`` as in ``KNNFewShot`` (e.g.
        ``max_bootstrapped_demos=0, max_labeled_demos=k`` to use the retrieved demonstrations as
        they are, with no LM calls to bootstrap).
        """
        dspy = _dspy()
        optimizer = dspy.KNNFewShot.__new__(dspy.KNNFewShot)  # its __init__ would embed a trainset
        dspy.teleprompt.Teleprompter.__init__(optimizer)
        optimizer.KNN = self
        optimizer.few_shot_bootstrap_args = few_shot_bootstrap_args
        return optimizer
