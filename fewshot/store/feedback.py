"""LM feedback scores in the ``feedback_scores`` table: the SQL implementation of
`fewshot.udr.FeedbackCache` (keyed by content: lm, template hash, item hash, demo hash)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fewshot.store.models import FeedbackScore

__all__ = ["SQLFeedbackCache"]

#: ``(item_hash, demo_hash, score, n_tokens)``
ScoreRow = tuple[str, str, float, int]
SessionScope = Callable[[], AbstractContextManager[Session]]


class SQLFeedbackCache:
    """The ``feedback_scores`` table through a SQLAlchemy session factory.

    Parameters
    ----------
    sessions : callable returning a context manager that yields a Session in a transaction
        (``ServiceContext.session``), or use `SQLFeedbackCache.sqlite` for a standalone file.
    """

    _CHUNK = 400  # pairs per SELECT (bound-parameter limits)

    def __init__(self, sessions: SessionScope) -> None:
        self._sessions = sessions

    @classmethod
    def sqlite(cls, path: str | os.PathLike[str]) -> SQLFeedbackCache:
        """A cache in its own SQLite file (created with just the ``feedback_scores`` table)."""
        engine = create_engine(f"sqlite:///{os.fspath(path)}")
        FeedbackScore.metadata.create_all(engine, tables=[FeedbackScore.__table__], checkfirst=True)  # type: ignore[list-item]
        factory = sessionmaker(engine, expire_on_commit=False)

        @contextmanager
        def sessions() -> Iterator[Session]:
            with factory() as s, s.begin():
                yield s

        return cls(sessions)

    def get_many(self, lm: str, template_hash: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        F = FeedbackScore
        wanted = set(pairs)
        items = sorted({i for i, _ in wanted})
        out: dict[tuple[str, str], float] = {}
        with self._sessions() as s:
            for part in _chunks(items, self._CHUNK):
                rows = s.execute(
                    select(F.item_hash, F.demo_hash, F.score).where(
                        F.lm == lm, F.template_hash == template_hash, F.item_hash.in_(part)
                    )
                )
                for item, demo, score in rows:
                    if (item, demo) in wanted:
                        out[(item, demo)] = float(score)
        return out

    def put_many(self, lm: str, template_hash: str, rows: Sequence[ScoreRow]) -> None:
        F = FeedbackScore
        rows = list({(r[0], r[1]): r for r in rows}.values())
        if not rows:
            return
        known = self.get_many(lm, template_hash, [(r[0], r[1]) for r in rows])
        fresh = [r for r in rows if (r[0], r[1]) not in known]
        try:
            with self._sessions() as s:
                s.add_all(
                    F(lm=lm, template_hash=template_hash, item_hash=i, demo_hash=d, score=float(v), n_tokens=int(n))
                    for i, d, v, n in fresh
                )
        except IntegrityError:  # another process stored some meanwhile: keep theirs, add the rest
            for r in fresh:
                try:
                    with self._sessions() as s:
                        s.add(
                            F(
                                lm=lm,
                                template_hash=template_hash,
                                item_hash=r[0],
                                demo_hash=r[1],
                                score=float(r[2]),
                                n_tokens=int(r[3]),
                            )
                        )
                except IntegrityError:
                    pass


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
