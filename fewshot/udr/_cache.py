"""Where LM feedback scores are kept: the `FeedbackCache` interface and an in-memory implementation.

A score is keyed by ``(lm, template_hash, item_hash, demo_hash)`` -- all content, no ids -- so it
is reused across pools, runs and mining rounds. The SQL implementation, on the workspace's
``feedback_scores`` table or a standalone SQLite file, is `fewshot.store.feedback.SQLFeedbackCache`
(the domain never touches the database).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["FeedbackCache", "MemoryFeedbackCache", "ScoreRow"]

#: ``(item_hash, demo_hash, score, n_tokens)``
ScoreRow = tuple[str, str, float, int]


@runtime_checkable
class FeedbackCache(Protocol):
    """Reads and writes LM feedback scores."""

    def get_many(self, lm: str, template_hash: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """Known scores of ``(item_hash, demo_hash)`` pairs (unknown pairs are absent)."""
        ...

    def put_many(self, lm: str, template_hash: str, rows: Sequence[ScoreRow]) -> None:
        """Store scores (pairs already stored keep their first score)."""
        ...


class MemoryFeedbackCache:
    """A dict: for library use without a database, and for tests."""

    def __init__(self) -> None:
        self.scores: dict[tuple[str, str, str, str], tuple[float, int]] = {}

    def get_many(self, lm: str, template_hash: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        out = {}
        for item, demo in pairs:
            hit = self.scores.get((lm, template_hash, item, demo))
            if hit is not None:
                out[(item, demo)] = hit[0]
        return out

    def put_many(self, lm: str, template_hash: str, rows: Sequence[ScoreRow]) -> None:
        for item, demo, score, n in rows:
            self.scores.setdefault((lm, template_hash, item, demo), (float(score), int(n)))

    def __len__(self) -> int:
        return len(self.scores)


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
