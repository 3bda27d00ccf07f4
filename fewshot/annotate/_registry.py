"""Method names, :func:`get_strategy` and the one-call :func:`select`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fewshot.annotate._base import ProgressCallback, Selection, SelectionStrategy
from fewshot.annotate._facility import FacilityLocation
from fewshot.annotate._ideal import Ideal
from fewshot.annotate._kmeans import KMeansSelection
from fewshot.annotate._random import RandomSelection
from fewshot.annotate._votek import TwoStageVoteK, VoteK
from fewshot.exceptions import InvalidInputError

__all__ = ["STRATEGIES", "get_strategy", "select"]

#: Registered selection methods by name.
STRATEGIES: dict[str, type[SelectionStrategy]] = {
    "votek": VoteK,
    "votek2": TwoStageVoteK,
    "ideal": Ideal,
    "random": RandomSelection,
    "kmeans": KMeansSelection,
    "facility": FacilityLocation,
}


def get_strategy(name: str, **params: Any) -> SelectionStrategy:
    """The strategy registered as ``name``, configured with ``params``.

    Raises
    ------
    InvalidInputError
        Unknown name, or a parameter the method does not take.

    Examples
    --------
    >>> get_strategy("votek", k=50)
    VoteK(center=True, k=50, rho=10, exact=None, n_threads=None)
    """
    try:
        cls = STRATEGIES[name]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"unknown selection method {name!r}; valid methods: {', '.join(sorted(STRATEGIES))}"
        ) from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInputError(f"method {name!r}: {exc}") from None


def select(vectors: Any, budget: int, method: str = "votek", *, labeled: Iterable[int] = (),
           seed: int = 0, center: bool = True, progress: ProgressCallback | None = None,
           **params: Any) -> Selection:
    """Choose ``budget`` rows of ``vectors`` to annotate with ``method``.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
        Embeddings of the pool (finite; converted once to float32). Cosine similarity is used,
        after subtracting the pool mean when ``center`` (the research default).
    budget : int
        ``0 < budget <= n_examples - len(labeled)``; ``budget == n_examples`` works.
    method : str
        One of ``"votek"``, ``"votek2"``, ``"ideal"``, ``"random"``, ``"kmeans"``,
        ``"facility"``.
    labeled : iterable of int
        Rows already annotated (earlier rounds); they count as selected and are never returned.
    seed : int
        Seed for the methods that draw random numbers.
    center : bool
    progress : callable, optional
        ``progress(done, total)``.
    **params
        Method parameters (``k``, ``rho``, ``confidence``, ``epsilon``, ...).

    Returns
    -------
    Selection
        ``indices`` (int64, selection order), ``scores``, ``influence`` (IDEAL), ``method``,
        ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 16))
    >>> select(X, 5, "votek", k=10).indices.shape
    (5,)
    """
    strategy = get_strategy(method, center=center, **params)
    return strategy.select(vectors, budget, labeled=labeled, seed=seed, progress=progress)
