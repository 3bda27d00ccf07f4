"""`UDRTask`: one task's annotated pool, training queries, prompt template and encoder instruction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fewshot.exceptions import InvalidInputError
from fewshot.hashing import content_hash
from fewshot.prompt import PromptTemplate
from fewshot.retrieve._corpus import Example

__all__ = ["UDRTask", "FEEDBACK_JOINER", "template_hash"]

#: Between the demonstration and the query in a feedback prompt: ``x_c<sep>y_c \n x<sep>``.
FEEDBACK_JOINER = "\n"


def template_hash(template: PromptTemplate, joiner: str = FEEDBACK_JOINER) -> str:
    """Content hash of everything about the template that changes a feedback prompt."""
    verb = template.verbalizer
    verb_repr = repr(sorted(verb.items(), key=repr)) if isinstance(verb, dict) else repr(verb)
    return content_hash("\x1f".join([template.input, template.output, verb_repr, joiner]))


@dataclass(frozen=True)
class UDRTask:
    """A task UDR learns to retrieve for.

    Parameters
    ----------
    name : str
        Task name (key of the instruction in the saved model; batches hold one task).
    template : PromptTemplate
        Renders ``x`` (``input``) and ``y`` (``output``) of items and demonstrations.
    pool : sequence of Example
        The annotated pool demonstrations are drawn from. Ids must be unique.
    queries : sequence of Example
        Training items (often a subset of ``pool``; an item is never its own candidate).
    instruction : str
        Prefix of every text the encoder sees for this task, e.g. ``"Sentiment of the review: "``.
    """

    name: str
    template: PromptTemplate
    pool: Sequence[Example]
    queries: Sequence[Example]
    instruction: str = ""
    _by_id: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError(f"UDRTask.name must be a non-empty str, got {self.name!r}")
        if not self.pool:
            raise InvalidInputError(f"task {self.name!r}: pool is empty")
        if not self.queries:
            raise InvalidInputError(f"task {self.name!r}: queries is empty")
        by_id = {}
        for ex in self.pool:
            if ex.id in by_id:
                raise InvalidInputError(f"task {self.name!r}: duplicate pool id {ex.id!r}")
            by_id[ex.id] = ex
        self._by_id.update(by_id)

    def demo(self, item_id: int | str) -> Example:
        """The pool item with this id."""
        try:
            return self._by_id[item_id]
        except KeyError:
            raise InvalidInputError(f"task {self.name!r}: no pool item with id {item_id!r}") from None

    # -- feedback prompt -------------------------------------------------------------------
    def feedback_request(self, query: Example, demo: Example) -> tuple[str, str]:
        """``("x_c y_c\\nx", " y")``: the prompt and gold continuation the LM scores."""
        tpl = self.template
        return tpl.render_demo(demo) + FEEDBACK_JOINER + tpl.render_input(query), tpl.render_output(query)

    def item_key(self, query: Example) -> str:
        """Content hash of a training item as the LM sees it (input and gold output)."""
        return content_hash(self.template.render_input(query) + "\x1e" + self.template.render_output(query))

    def demo_key(self, demo: Example) -> str:
        """Content hash of a demonstration as the LM sees it."""
        return content_hash(self.template.render_demo(demo))
