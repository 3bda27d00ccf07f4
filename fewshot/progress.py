"""Progress callbacks shared by every floor (base floor: no fewshot imports).

Long operations take an optional callback and call it as work advances; the CLI turns it into a
rich progress bar, the API into a job's ``progress_done``/``progress_total``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "StageProgress", "staged"]

#: ``progress(done, total)``; ``total`` may be 0 when unknown.
Progress = Callable[[int, int], None]

#: ``progress(stage, done, total)`` for work in named stages (mining, training, ...).
StageProgress = Callable[[str, int, int], None]


def staged(n_stages: int, progress: Progress) -> StageProgress:
    """Fold ``(stage, done, total)`` into one counter: each stage is 1000 units, in the order seen.

    >>> seen = []
    >>> p = staged(2, lambda d, t: seen.append((d, t)))
    >>> p("mine", 1, 2); p("train", 2, 2)
    >>> seen
    [(500, 2000), (2000, 2000)]
    """
    order: list[str] = []

    def report(stage: str, done: int, total: int) -> None:
        if stage not in order:
            order.append(stage)
        i = order.index(stage)
        frac = done / total if total else 1.0
        progress(min(i, n_stages - 1) * 1000 + int(1000 * frac), n_stages * 1000)

    return report
