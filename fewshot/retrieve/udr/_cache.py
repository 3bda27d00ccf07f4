"""Where LM feedback scores are kept: a small interface with an in-memory and an SQL implementation.

A score is keyed by ``(lm, template_hash, item_hash, demo_hash)`` -- all content, no ids -- so it
is reused across pools, runs and mining rounds. `SQLFeedbackCache` writes the workspace's
``feedback_scores`` table (or any SQLAlchemy database, e.g. a standalone SQLite file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["FeedbackCache", "MemoryFeedbackCache", "SQLFeedbackCache", "ScoreRow"]

#: ``(item_hash, demo_hash, score, n_tokens)``
ScoreRow = tuple[str, str, float, int]


@runtime_checkable
class FeedbackCache(Protocol):
    """Reads and writes LM feedback scores."""

    def get_many(self, lm: str, template_hash: str,
                 pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """Known scores of ``(item_hash, demo_hash)`` pairs (unknown pairs are absent)."""
        ...

    def put_many(self, lm: str, template_hash: str, rows: Sequence[ScoreRow]) -> None:
        """Store scores (pairs already stored keep their first score)."""
        ...


class MemoryFeedbackCache:
    """A dict: for library use without a database, and for tests."""

    def __init__(self) -> None:
        self.scores: dict[tuple[str, str, str, str], tuple[float, int]] = {}

    def get_many(self, lm: str, template_hash: str,
                 pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
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


class SQLFeedbackCache:
    """The ``feedback_scores`` table through a SQLAlchemy session factory.

    Parameters
    ----------
    sessions : callable returning a context manager that yields a Session in a transaction
        (`Workspace.session`), or use `SQLFeedbackCache.sqlite` for a standalone file.
    """

    _CHUNK = 400  # pairs per SELECT (bound-parameter limits)

    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions

    @classmethod
    def sqlite(cls, path: str | os.PathLike[str]) -> SQLFeedbackCache:
        """A cache in its own SQLite file (created with just the ``feedback_scores`` table)."""
        from contextlib import contextmanager

        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        from fewshot.store.models import FeedbackScore

        engine = create_engine(f"sqlite:///{os.fspath(path)}")
        FeedbackScore.__table__.create(engine, checkfirst=True)
        factory = sessionmaker(engine, expire_on_commit=False)

        @contextmanager
        def sessions():
            with factory() as s, s.begin():
                yield s

        return cls(sessions)

    def get_many(self, lm: str, template_hash: str,
                 pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        from sqlalchemy import select

        from fewshot.store.models import FeedbackScore as F

        wanted = set(pairs)
        items = sorted({i for i, _ in wanted})
        out: dict[tuple[str, str], float] = {}
        with self._sessions() as s:
            for part in _chunks(items, self._CHUNK):
                rows = s.execute(select(F.item_hash, F.demo_hash, F.score).where(
                    F.lm == lm, F.template_hash == template_hash, F.item_hash.in_(part)))
                for item, demo, score in rows:
                    if (item, demo) in wanted:
                        out[(item, demo)] = float(score)
        return out

    def put_many(self, lm: str, template_hash: str, rows: Sequence[ScoreRow]) -> None:
        from sqlalchemy.exc import IntegrityError

        from fewshot.store.models import FeedbackScore as F

        rows = list({(r[0], r[1]): r for r in rows}.values())
        if not rows:
            return
        known = self.get_many(lm, template_hash, [(r[0], r[1]) for r in rows])
        fresh = [r for r in rows if (r[0], r[1]) not in known]
        try:
            with self._sessions() as s:
                s.add_all(F(lm=lm, template_hash=template_hash, item_hash=i, demo_hash=d, score=float(v),
                            n_tokens=int(n)) for i, d, v, n in fresh)
        except IntegrityError:  # another process stored some meanwhile: keep theirs, add the rest
            for r in fresh:
                try:
                    with self._sessions() as s:
                        s.add(F(lm=lm, template_hash=template_hash, item_hash=r[0], demo_hash=r[1],
                                score=float(r[2]), n_tokens=int(r[3])))
                except IntegrityError:
                    pass


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
