"""Choosing the K training candidates of one query from its LM-scored candidates (SPEC 5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["sample_candidates"]

T = TypeVar("T")


def sample_candidates(
    ranked: Sequence[T], k: int = 8, *, rng: np.random.Generator, top: int = 5, bottom: int = 5
) -> list[T]:
    """K candidates out of ``ranked`` (the LM's order, best first), returned in LM order.

    One comes from the LM's ``top`` best, one from its ``bottom`` worst, the other ``k - 2``
    from the middle (``ranked[top:-bottom]``). When the middle is too small, the rest are drawn
    from whatever is left; with at most ``k`` candidates, all are returned.

    >>> sample_candidates(list(range(20)), 4, rng=np.random.default_rng(0))[0] < 5
    True
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise InvalidInputError(f"k must be an int >= 2, got {k!r}")
    n = len(ranked)
    if n <= k:
        return list(ranked)
    top = min(top, n)
    bottom = min(bottom, n - top)
    chosen = {int(rng.integers(0, top))}
    if bottom > 0:
        chosen.add(int(n - bottom + rng.integers(0, bottom)))
    middle = np.arange(top, n - bottom)
    take = min(k - len(chosen), middle.size)
    if take > 0:
        chosen.update(int(i) for i in rng.choice(middle, size=take, replace=False))
    if len(chosen) < k:  # small lists: fill from the rest
        rest = np.array([i for i in range(n) if i not in chosen])
        chosen.update(int(i) for i in rng.choice(rest, size=k - len(chosen), replace=False))
    return [ranked[i] for i in sorted(chosen)]
