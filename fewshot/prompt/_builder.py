"""`PromptBuilder`: pack retrieved demonstrations into a prompt under a token budget."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.prompt._record import PromptRecord
from fewshot.prompt._template import ItemLike, PromptTemplate, item_fields
from fewshot.prompt._tokens import TokenCounter

__all__ = ["PromptBuilder", "BuiltPrompt", "PromptDemo", "ORDERS", "query_hash"]

logger = logging.getLogger(__name__)

#: Demonstration orders: most similar next to the query (default), retrieval order
#: (most similar first), or a seeded shuffle.
ORDERS = ("similar_last", "retrieval", "random")


def query_hash(query: ItemLike) -> str:
    """sha256 hex of a query: of its ``text`` field when it has one (str, `Example`,
    `Demo`, mapping with ``text``), else of the mapping as canonical JSON."""
    try:
        text = item_fields(query)("text")
    except KeyError:
        text = None
    if not isinstance(text, str):
        text = json.dumps(query, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PromptDemo:
    """A demonstration as placed in the prompt.

    id : the item's id. score : the retriever's score (None if not given).
    rank : its position in the retrieval order (0 = most similar).
    truncated : whether its input was shortened to fit the per-demonstration cap.
    """

    id: Any
    score: float | None
    rank: int
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "rank": self.rank, "truncated": self.truncated}


@dataclass(frozen=True)
class BuiltPrompt:
    """A finished prompt.

    text : str -- instruction, demonstrations and query joined by the template separator.
    messages : list of {"role", "content"} -- system = instruction (if any), then a user /
        assistant pair per demonstration, then the query as the last user turn.
    demos : tuple of PromptDemo in final (prompt) order.
    n_tokens : int -- tokens of ``text`` by the builder's counter (chat templates add more).
    template_name, order, counter : how it was built.
    truncated : tuple of bool, per demo in final order.
    query_hash : str -- see `query_hash`.
    max_tokens, reserve_tokens : the budget: ``n_tokens + reserve_tokens <= max_tokens``.
    n_candidates : int -- demonstrations offered to the builder.
    retriever_name : str or None.
    """

    text: str
    messages: list[dict[str, str]]
    demos: tuple[PromptDemo, ...]
    n_tokens: int
    template_name: str
    truncated: tuple[bool, ...]
    query_hash: str
    max_tokens: int
    reserve_tokens: int
    n_candidates: int
    order: str
    counter: str
    retriever_name: str | None = None

    @property
    def demo_ids(self) -> list[Any]:
        return [d.id for d in self.demos]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict with a fixed set of keys, for logging."""
        return {
            "text": self.text,
            "messages": [dict(m) for m in self.messages],
            "demos": [d.to_dict() for d in self.demos],
            "n_tokens": self.n_tokens,
            "template_name": self.template_name,
            "truncated": list(self.truncated),
            "query_hash": self.query_hash,
            "max_tokens": self.max_tokens,
            "reserve_tokens": self.reserve_tokens,
            "n_candidates": self.n_candidates,
            "order": self.order,
            "counter": self.counter,
            "retriever_name": self.retriever_name,
        }

    def record(self, *, retriever_name: str | None = None) -> PromptRecord:
        """The provenance record of this prompt."""
        return PromptRecord.from_prompt(self, retriever_name=retriever_name)


@dataclass
class _Packed:
    """A demonstration accepted during packing."""

    item: ItemLike
    id: Any
    score: float | None
    rank: int
    input: str
    output: str
    truncated: bool

    @property
    def text(self) -> str:
        return self.input + self.output


def _candidate(obj: Any, position: int) -> tuple[ItemLike, Any, float | None, int]:
    """(item, id, score, rank) of a demonstration given as Demo, Example or mapping."""
    example = getattr(obj, "example", None)
    if example is not None:  # retrieve.Demo
        return example, obj.id, float(obj.score), int(obj.rank)
    if isinstance(obj, Mapping):
        score = obj.get("score")
        return obj, obj.get("id"), None if score is None else float(score), int(obj.get("rank", position))
    return obj, getattr(obj, "id", None), None, position


class PromptBuilder:
    """Greedy packing of demonstrations into a token budget.

    Parameters
    ----------
    template : PromptTemplate
    counter : TokenCounter
    max_tokens : int
        Budget for the whole prompt plus ``reserve_tokens``.
    k : int, optional
        At most this many demonstrations.
    reserve_tokens : int
        Room kept for the answer (and any special tokens the model adds).
    max_demo_tokens : int, optional
        Cap per demonstration: a longer one has its ``template.truncate_field`` (the input
        text) cut at a token boundary until it fits; the label/answer is kept whole.
    order : {"similar_last", "retrieval", "random"}
        Final order of the chosen demonstrations. ``similar_last`` (default) reverses the
        retrieval order so the most similar one sits next to the query.
    seed : int, optional
        For ``order="random"``; the shuffle is seeded by ``(seed, query hash)``, so a query
        gets the same order whatever else was built before it.

    Packing (UDR's inference rule): demonstrations are taken in retrieval order while the
    prompt still fits; the first one that does not fit ends the packing. The finished text
    is counted again as a whole and, should tokenisation across the joins make it exceed
    the budget, the least similar demonstrations are dropped until it fits, so
    ``n_tokens + reserve_tokens <= max_tokens`` always holds.
    """

    def __init__(
        self,
        template: PromptTemplate,
        counter: TokenCounter,
        *,
        max_tokens: int,
        k: int | None = None,
        reserve_tokens: int = 0,
        max_demo_tokens: int | None = None,
        order: str = "similar_last",
        seed: int | None = None,
    ) -> None:
        self.template = template
        self.counter = counter
        self.max_tokens = max_tokens
        self.k = k
        self.reserve_tokens = reserve_tokens
        self.max_demo_tokens = max_demo_tokens
        self.order = order
        self.seed = seed

    def _check(self) -> None:
        if not isinstance(self.template, PromptTemplate):
            raise InvalidInputError("template must be a PromptTemplate")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise InvalidInputError(f"max_tokens must be an int >= 1, got {self.max_tokens!r}")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 0):
            raise InvalidInputError(f"k must be None or an int >= 0, got {self.k!r}")
        if not isinstance(self.reserve_tokens, int) or self.reserve_tokens < 0:
            raise InvalidInputError("reserve_tokens must be an int >= 0")
        if self.max_demo_tokens is not None and self.max_demo_tokens < 1:
            raise InvalidInputError("max_demo_tokens must be None or >= 1")
        if self.order not in ORDERS:
            raise InvalidInputError(f"order must be one of {ORDERS}, got {self.order!r}")

    # ------------------------------------------------------------------ building
    def build(self, query: ItemLike, demos: Iterable[Any], *, retriever_name: str | None = None) -> BuiltPrompt:
        """Build the prompt for ``query`` from ``demos`` given in retrieval order.

        Parameters
        ----------
        query : str, Example, Demo or mapping
            Rendered with the template's ``input`` part (a str is the ``text`` field).
        demos : iterable of Demo, Example or mapping
            Best first. Mappings may carry ``id``, ``score``, ``rank``.
        retriever_name : str, optional
            Recorded in the result.

        Raises
        ------
        InvalidInputError
            A field the template needs is missing, or the query alone exceeds the budget.
        """
        self._check()
        tpl, budget = self.template, self.max_tokens - self.reserve_tokens
        query_text = tpl.render_input(query)
        base = self.counter.count(tpl.join([], query_text))
        if base > budget:
            raise InvalidInputError(
                f"the query alone needs {base} tokens; budget is {self.max_tokens} with {self.reserve_tokens} reserved"
            )
        candidates = list(demos)
        limit = len(candidates) if self.k is None else min(self.k, len(candidates))
        left = budget - base
        packed: list[_Packed] = []
        for position, obj in enumerate(candidates[:limit]):
            item, item_id, score, rank = _candidate(obj, position)
            demo = self._render(item, item_id, score, rank)
            if demo is None:
                continue
            cost = self.counter.count(demo.text + tpl.separator)
            if cost > left:
                break
            packed.append(demo)
            left -= cost
        ordered = self._ordered(packed, query)
        text = tpl.join([d.text for d in ordered], query_text)
        n_tokens = self.counter.count(text)
        while n_tokens > budget and packed:
            dropped = packed.pop()  # the least similar
            logger.debug("prompt over budget (%d > %d); dropping %r", n_tokens, budget, dropped.id)
            ordered = [d for d in ordered if d is not dropped]
            text = tpl.join([d.text for d in ordered], query_text)
            n_tokens = self.counter.count(text)
        return BuiltPrompt(
            text=text,
            messages=self._messages(ordered, query_text),
            demos=tuple(PromptDemo(d.id, d.score, d.rank, d.truncated) for d in ordered),
            n_tokens=n_tokens,
            template_name=tpl.name,
            truncated=tuple(d.truncated for d in ordered),
            query_hash=query_hash(query),
            max_tokens=self.max_tokens,
            reserve_tokens=self.reserve_tokens,
            n_candidates=len(candidates),
            order=self.order,
            counter=getattr(self.counter, "name", type(self.counter).__name__),
            retriever_name=retriever_name,
        )

    def _render(self, item: ItemLike, item_id: Any, score: float | None, rank: int) -> _Packed | None:
        """Render a demonstration, truncating it to ``max_demo_tokens`` if needed.

        Returns None when even an empty input cannot fit the cap.
        """
        tpl = self.template
        inp, out = tpl.render_input(item), tpl.render_output(item)
        cap = self.max_demo_tokens
        if cap is None or self.counter.count(inp + out) <= cap:
            return _Packed(item, item_id, score, rank, inp, out, False)
        name = tpl.truncate_field
        try:
            value = item_fields(item)(name)
        except KeyError:
            value = None
        if name not in tpl.input_fields or not isinstance(value, str):
            logger.debug("demo %r exceeds %d tokens and has no %r to truncate; skipped", item_id, cap, name)
            return None
        overhead = self.counter.count(tpl.render_input(item, overrides={name: ""}) + out)
        room = cap - overhead
        while room > 0:
            short = self.counter.truncate(value, room)
            inp = tpl.render_input(item, overrides={name: short})
            n = self.counter.count(inp + out)
            if n <= cap:
                return _Packed(item, item_id, score, rank, inp, out, True)
            room -= max(1, n - cap)
        logger.debug("demo %r cannot fit %d tokens even with an empty %r; skipped", item_id, cap, name)
        return None

    def _ordered(self, packed: list[_Packed], query: ItemLike) -> list[_Packed]:
        if self.order == "retrieval":
            return list(packed)
        if self.order == "similar_last":
            return packed[::-1]
        entropy = int(query_hash(query)[:16], 16)
        rng = np.random.default_rng(None if self.seed is None else [self.seed, entropy])
        return [packed[i] for i in rng.permutation(len(packed))]

    def _messages(self, ordered: list[_Packed], query_text: str) -> list[dict[str, str]]:
        messages = []
        if self.template.instruction:
            messages.append({"role": "system", "content": self.template.instruction})
        for d in ordered:
            messages.append({"role": "user", "content": d.input.strip()})
            messages.append({"role": "assistant", "content": d.output.strip()})
        messages.append({"role": "user", "content": query_text.strip()})
        return messages
