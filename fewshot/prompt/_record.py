"""`PromptRecord`: the provenance of one built prompt (persisted elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["PromptRecord"]


@dataclass(frozen=True)
class PromptRecord:
    """Which demonstrations went into which prompt, and how.

    id : str -- random uuid4 hex.
    query_hash : str -- sha256 hex of the query (see `PromptBuilder.build`).
    demo_ids, scores : tuples in the prompt's final order.
    template_name, retriever_name : what rendered and what retrieved.
    n_tokens : int -- the prompt's size by the builder's counter.
    created : datetime -- UTC.
    """

    query_hash: str
    demo_ids: tuple[Any, ...]
    scores: tuple[float | None, ...]
    template_name: str
    retriever_name: str | None = None
    n_tokens: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_prompt(cls, prompt: Any, *, retriever_name: str | None = None) -> PromptRecord:
        """The record of a `BuiltPrompt`; ``retriever_name`` overrides the prompt's own."""
        return cls(
            query_hash=prompt.query_hash,
            demo_ids=tuple(d.id for d in prompt.demos),
            scores=tuple(d.score for d in prompt.demos),
            template_name=prompt.template_name,
            retriever_name=retriever_name or prompt.retriever_name,
            n_tokens=prompt.n_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict with a fixed set of keys; ``created`` in ISO-8601."""
        return {
            "id": self.id,
            "query_hash": self.query_hash,
            "demo_ids": list(self.demo_ids),
            "scores": list(self.scores),
            "template_name": self.template_name,
            "retriever_name": self.retriever_name,
            "n_tokens": self.n_tokens,
            "created": self.created.isoformat(),
        }
