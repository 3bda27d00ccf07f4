"""Paired comparison of a selection method against a baseline on the same test items and seeds.

Mean accuracies over a few seeds hide how much of a difference is noise: at 256 test items the
spread over 3 seeds is often 0.02-0.07. Every run keeps which test items it answered correctly
(a bit string, `encode_correct`), so two methods run on the same seed (same pool draw) and the
same test sample can be compared item by item::

    d[s, i] = correct_method[s, i] - correct_baseline[s, i]     (values -1, 0, +1)
    delta   = mean over seeds s and test items i of d[s, i]

The 95% interval is a percentile bootstrap over *both* factors: each of the ``resamples``
(2,000) replicates draws the seeds with replacement and, independently, the test items with
replacement, and takes the mean of ``d`` over the crossed sample (the "pigeonhole" bootstrap
for a crossed design, Owen 2007; it slightly over-covers, i.e. it is conservative). Resampling
the items captures which test items happened to be drawn; resampling the seeds captures the
pool draw and the method's own randomness, which items alone would miss. With one seed only the
items are resampled. The generator is ``numpy.random.default_rng(seed)`` with a fixed seed
(0), so a report is reproducible.

The verdict is ``"win"`` when the whole interval is above 0, ``"loss"`` when it is below 0, and
``"tie"`` otherwise; ``relative_gain`` is ``delta`` over the baseline's mean accuracy on the same
seeds and items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = [
    "PairedDelta",
    "encode_correct",
    "decode_correct",
    "paired_delta",
    "verdict_of",
    "MethodTally",
    "tally_methods",
    "RESAMPLES",
    "BOOTSTRAP_SEED",
]

#: Bootstrap replicates and generator seed used by `summarize`.
RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def encode_correct(values: Iterable[Any]) -> str:
    """Per-item correctness as a compact, readable bit string (``"1"`` right, ``"0"`` wrong).

    >>> encode_correct([True, False, 1, 0])
    '1010'
    """
    return "".join("1" if bool(v) else "0" for v in values)


def decode_correct(bits: str) -> np.ndarray:
    """The inverse of `encode_correct`: an int8 array of 0/1 of length ``len(bits)``.

    >>> decode_correct("1010").tolist()
    [1, 0, 1, 0]
    """
    if not isinstance(bits, str) or set(bits) - {"0", "1"}:
        raise InvalidInputError(f"correct must be a string of 0 and 1, got {str(bits)[:40]!r}")
    return (np.frombuffer(bits.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)


@dataclass(frozen=True)
class PairedDelta:
    """Paired difference method - baseline over ``n_seeds`` x ``n_items`` shared cells.

    ``delta`` is in accuracy points (fractions: 0.02 = two points); ``ci_low`` / ``ci_high``
    bound its ``level`` percentile-bootstrap interval; ``relative_gain`` = ``delta /
    baseline_mean`` (None when the baseline is 0); ``verdict`` is ``win``, ``tie`` or ``loss``.
    """

    delta: float
    ci_low: float
    ci_high: float
    relative_gain: float | None
    verdict: str
    method_mean: float
    baseline_mean: float
    n_seeds: int
    n_items: int
    resamples: int
    level: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_of(ci_low: float, ci_high: float) -> str:
    """``"win"`` if the interval lies above 0, ``"loss"`` if below, else ``"tie"``.

    >>> verdict_of(0.01, 0.05), verdict_of(-0.01, 0.05), verdict_of(-0.05, -0.01)
    ('win', 'tie', 'loss')
    """
    if ci_low > 0:
        return "win"
    if ci_high < 0:
        return "loss"
    return "tie"


def paired_delta(
    method: Any,
    baseline: Any,
    *,
    resamples: int = RESAMPLES,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> PairedDelta:
    """Paired delta of ``method`` over ``baseline`` with a bootstrap interval (module docstring).

    Parameters
    ----------
    method, baseline : array-like of shape (n_seeds, n_items)
        0/1 correctness; row s of both is the same seed, column i the same test item.
    resamples : int
        Bootstrap replicates (>= 1).
    level : float
        Coverage of the interval, in (0, 1).
    seed : int
        Seed of the bootstrap's generator.

    Returns
    -------
    PairedDelta

    Raises
    ------
    InvalidInputError
        Shapes differ, are not 2-D, or are empty; values outside {0, 1}; a bad ``resamples`` or
        ``level``.

    Examples
    --------
    >>> r = paired_delta([[1, 1, 0, 0]], [[1, 0, 0, 0]], resamples=200)
    >>> r.delta, r.baseline_mean, r.relative_gain
    (0.25, 0.25, 1.0)
    """
    m = _matrix(method, "method")
    b = _matrix(baseline, "baseline")
    if m.shape != b.shape:
        raise InvalidInputError(
            f"method and baseline must cover the same seeds and test items: shapes {m.shape} and {b.shape}"
        )
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise InvalidInputError(f"resamples must be an integer >= 1, got {resamples!r}")
    if not 0.0 < float(level) < 1.0:
        raise InvalidInputError(f"level must be in (0, 1), got {level!r}")
    d = m - b
    n_seeds, n_items = d.shape
    delta = float(d.mean())
    boot = _bootstrap_means(d, resamples, np.random.default_rng(seed))
    alpha = (1.0 - float(level)) / 2.0
    lo, hi = (float(x) for x in np.quantile(boot, [alpha, 1.0 - alpha]))
    base_mean = float(b.mean())
    return PairedDelta(
        delta=delta,
        ci_low=lo,
        ci_high=hi,
        relative_gain=None if base_mean == 0 else delta / base_mean,
        verdict=verdict_of(lo, hi),
        method_mean=float(m.mean()),
        baseline_mean=base_mean,
        n_seeds=n_seeds,
        n_items=n_items,
        resamples=resamples,
        level=float(level),
    )


def _matrix(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise InvalidInputError(f"{name} must be a non-empty 2-D array (n_seeds, n_items), got shape {arr.shape}")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise InvalidInputError(f"{name} must hold only 0 and 1 (correct or not)")
    return arr


def _bootstrap_means(d: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``d`` over ``resamples`` crossed resamples (seeds and items, with replacement).

    A resample is a pair of count vectors (how often each seed and each item was drawn), so its
    mean is ``v @ d @ w / (S * n)``: computed for all replicates at once, in blocks of at most
    4M drawn items.
    """
    n_seeds, n_items = d.shape
    out = np.empty(resamples, dtype=np.float64)
    block = max(1, min(resamples, 4_000_000 // max(n_items, 1)))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        draws = rng.integers(0, n_items, size=(size, n_items)) + n_items * np.arange(size)[:, None]
        w = np.bincount(draws.ravel(), minlength=size * n_items).reshape(size, n_items).astype(np.float64)
        per_seed = d @ w.T  # (S, size): each seed's item-resampled sum
        if n_seeds > 1:
            v = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=size).astype(np.float64)
            sums = np.einsum("bs,sb->b", v, per_seed)
        else:
            sums = per_seed[0]
        out[start : start + size] = sums / (n_seeds * n_items)
    return out


# ------------------------------------------------------------------------- per-method tally


@dataclass(frozen=True)
class MethodTally:
    """One method's record over the compared cells (dataset, scorer, retriever, budget)."""

    method: str
    wins: int
    ties: int
    losses: int
    mean_relative_gain: float | None
    mean_delta: float | None

    @property
    def cells(self) -> int:
        return self.wins + self.ties + self.losses

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"cells": self.cells}


def tally_methods(rows: Sequence[Any]) -> list[MethodTally]:
    """Wins, ties and losses per method over summary rows with a paired verdict.

    ``rows`` are `SummaryRow` objects (or anything with ``method``, ``verdict``,
    ``gain_paired`` and ``delta_vs_random``); rows without a verdict (the baseline itself, or
    runs without per-item results) are skipped. Methods come in first-seen order.
    """
    groups: dict[str, list[Any]] = {}
    for row in rows:
        if getattr(row, "verdict", None) in ("win", "tie", "loss"):
            groups.setdefault(row.method, []).append(row)
    out = []
    for method, rs in groups.items():
        gains = [r.gain_paired for r in rs if r.gain_paired is not None]
        deltas = [r.delta_vs_random for r in rs if r.delta_vs_random is not None]
        out.append(
            MethodTally(
                method=method,
                wins=sum(r.verdict == "win" for r in rs),
                ties=sum(r.verdict == "tie" for r in rs),
                losses=sum(r.verdict == "loss" for r in rs),
                mean_relative_gain=float(np.mean(gains)) if gains else None,
                mean_delta=float(np.mean(deltas)) if deltas else None,
            )
        )
    return out
