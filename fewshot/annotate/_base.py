"""The selection result, the strategy base class and the input checks shared by every method.

Input checks happen once, in :meth:`SelectionStrategy.select` (the public entry point); the
private ``_select`` methods and the helpers of the other modules assume clean data:
a C-contiguous float32 matrix of unit rows (see :func:`prepare_vectors`), a budget in range and
a duplicate-free int64 array of labeled row numbers.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fewshot.annotate._cost import check_costs
from fewshot.annotate._knapsack import CostBudget
from fewshot.exceptions import InvalidInputError

__all__ = ["Selection", "SelectionStrategy", "ProgressCallback", "prepare_vectors"]

logger = logging.getLogger(__name__)

#: ``progress(done, total)``: called from long loops; ``total`` may change between phases.
ProgressCallback = Callable[[int, int], None]

_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Selection:
    """Items chosen for annotation, in the order they were chosen.

    Attributes
    ----------
    indices : ndarray of int64, shape (budget,)
        Row numbers of the pool matrix, in selection order; none of them is in ``labeled``.
    scores : ndarray of float64, shape (budget,)
        The greedy score or gain of each pick at the moment it was picked (method specific:
        vote-k score, estimated marginal influence, facility-location gain, cluster size, 0).
    method : str
        Registered name of the method (``"votek"``, ``"ideal"``, ...).
    params : dict
        The parameters actually used (JSON-serialisable), including defaults.
    influence : float or None
        For IDEAL, a duplicate-free Monte-Carlo estimate of the influence of the chosen set
        together with ``labeled``; ``None`` for the other methods.
    total_cost : float or None
        Sum of the chosen items' costs when costs were given; ``None`` otherwise.
    """

    indices: np.ndarray
    scores: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    influence: float | None = None
    total_cost: float | None = None

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (lists instead of arrays)."""
        return {
            "method": self.method,
            "params": dict(self.params),
            "indices": self.indices.tolist(),
            "scores": self.scores.tolist(),
            "influence": self.influence,
            "total_cost": self.total_cost,
        }


class SelectionStrategy:
    """Base class of the selection methods.

    ``__init__`` only stores settings (scikit-learn style); they are checked when
    :meth:`select` runs. Subclasses set ``name`` and implement ``_select`` and ``_check_params``.
    """

    name: str = ""

    def __init__(self, *, center: bool = True) -> None:
        self.center = center

    # -- public -----------------------------------------------------------------------------
    def select(
        self,
        X: Any,
        budget: int | None = None,
        *,
        labeled: Iterable[int] | None = None,
        seed: int | None = None,
        progress: ProgressCallback | None = None,
        budget_cost: float | None = None,
        costs: Any = None,
    ) -> Selection:
        """Choose ``budget`` rows of ``X`` to annotate, or rows whose costs fit ``budget_cost``.

        Parameters
        ----------
        X : array-like of shape (n_examples, dim)
            Embeddings of the unlabeled pool, one row per item; converted once to float32.
        budget : int, optional
            Number of items to choose, ``0 < budget <= n_examples - len(labeled)``.
        labeled : iterable of int, optional
            Row numbers already annotated (an earlier round). They count as selected.
        seed : int, optional
            Seed of the method's random generator (``None`` means 0: results are reproducible).
        progress : callable, optional
            ``progress(done, total)`` callback.
        budget_cost : float, optional
            A budget in cost units instead of ``budget`` (exactly one of the two): the chosen
            rows' ``costs`` sum to at most ``budget_cost`` (SPEC section 7). With all costs equal
            to ``c`` the selection is the count-based one with ``budget = floor(budget_cost / c)``.
        costs : array-like of shape (n_examples,), optional
            Cost of each row (finite, > 0; labeled rows are not read). Required with
            ``budget_cost``; with ``budget`` it only fills ``Selection.total_cost``.
        """
        Z = prepare_vectors(X, center=self.center)
        n = Z.shape[0]
        labeled_arr = check_labeled(labeled, n)
        if (budget is None) == (budget_cost is None):
            raise InvalidInputError("give exactly one of budget (a count) and budget_cost (a total cost)")
        raw = None if costs is None else check_costs(costs, n, skip=labeled_arr)
        seed = check_seed(seed)
        if budget_cost is not None:
            if raw is None:
                raise InvalidInputError("budget_cost needs costs: one cost per row of vectors")
            if not self.supports_cost_budget():
                raise InvalidInputError(f"method {self.name!r} does not support a cost budget (budget_cost)")
            cb = CostBudget.build(raw, budget_cost, labeled_arr)
            params = self._check_params(n)
            params["seed"] = seed
            params["budget_cost"] = cb.budget_cost
            logger.debug("%s: n=%d budget_cost=%g labeled=%d", self.name, n, cb.budget_cost, len(labeled_arr))
            sel = self._select_cost(Z, cb, labeled_arr, seed, progress, params)
            total = cb.spent(sel.indices)
            sel.params["total_cost"] = total
            return replace(sel, total_cost=total)
        budget = check_budget(budget, n, len(labeled_arr))
        params = self._check_params(n)
        params["seed"] = seed
        logger.debug(
            "%s: n=%d dim=%d budget=%d labeled=%d params=%s", self.name, n, Z.shape[1], budget, len(labeled_arr), params
        )
        sel = self._select(Z, budget, labeled_arr, seed, progress, params)
        if raw is None:
            return sel
        total = float(raw[sel.indices].sum())
        sel.params["total_cost"] = total
        return replace(sel, total_cost=total)

    @classmethod
    def supports_cost_budget(cls) -> bool:
        """Whether the method selects under a cost budget: it defines ``_select_cost`` at least
        as far down the class tree as its ``_select`` (a subclass that changes ``_select`` only,
        such as two-stage vote-k, does not inherit its parent's cost-aware path)."""
        owner_select = next(k for k in cls.__mro__ if "_select" in vars(k))
        owner_cost = next(k for k in cls.__mro__ if "_select_cost" in vars(k))
        return owner_cost is not SelectionStrategy and issubclass(owner_cost, owner_select)

    def get_params(self) -> dict[str, Any]:
        """The settings given to ``__init__``."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- for subclasses -----------------------------------------------------------------------
    def _check_params(self, n: int) -> dict[str, Any]:
        """Validate the settings; return the JSON-serialisable parameters actually used."""
        return {"center": check_bool(self.center, "center")}

    def _select(
        self,
        Z: np.ndarray,
        budget: int,
        labeled: np.ndarray,
        seed: int,
        progress: ProgressCallback | None,
        params: dict[str, Any],
    ) -> Selection:
        raise NotImplementedError

    def _select_cost(
        self,
        Z: np.ndarray,
        cb: CostBudget,
        labeled: np.ndarray,
        seed: int,
        progress: ProgressCallback | None,
        params: dict[str, Any],
    ) -> Selection:
        """Select under the cost budget ``cb`` (the same clean inputs as `_select`)."""
        raise NotImplementedError


# -- input checks ---------------------------------------------------------------------------


def check_matrix(X: Any) -> np.ndarray:
    """``X`` as an array (no copy when it already is one, a ``numpy.memmap`` included), checked to
    be a non-empty 2-D array of real numbers; `InvalidInputError` naming what is wrong otherwise."""
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors must be a 2-D numeric array: {exc}") from exc
    if arr.ndim != 2:
        raise InvalidInputError(
            f"vectors must be a 2-D array of shape (n_examples, dim); got {arr.ndim}-D shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"vectors must be non-empty; got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise InvalidInputError(f"vectors must hold real numbers; got dtype {arr.dtype}")
    return arr


def prepare_vectors(X: Any, *, center: bool = True) -> np.ndarray:
    """Validate an embedding matrix and return its centred, L2-normalised float32 copy.

    The mean is computed in float64 and subtracted in float32 (when ``center``); each row is
    then divided by its float64 norm and rounded to float32, so inner products are cosines.
    Rows of norm 0 stay zero (cosine 0 with everything). This is the exact matrix every
    method, and the research reference used by the tests, work on.

    Parameters
    ----------
    X : array-like of shape (n_examples, dim)
        Finite real numbers.

    Returns
    -------
    ndarray of float32, shape (n_examples, dim), C-contiguous, a new array.

    Examples
    --------
    >>> Z = prepare_vectors([[1.0, 0.0], [3.0, 4.0]], center=False)
    >>> Z.dtype.name, Z.astype(float).round(2).tolist()
    ('float32', [[1.0, 0.0], [0.6, 0.8]])
    """
    arr = check_matrix(X)
    # The one conversion: a private float32 C-contiguous copy that is transformed in place.
    Z = np.array(arr, dtype=np.float32, order="C", copy=True)
    n = Z.shape[0]
    for start in range(0, n, _CHUNK_ROWS):
        block = Z[start : start + _CHUNK_ROWS]
        if not np.isfinite(block).all():
            bad = start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise InvalidInputError(f"vectors must be finite; row {bad} holds NaN or infinity")
    if center:
        mean = Z.mean(axis=0, dtype=np.float64).astype(np.float32)
        for start in range(0, n, _CHUNK_ROWS):
            Z[start : start + _CHUNK_ROWS] -= mean
    n_zero = 0
    for start in range(0, n, _CHUNK_ROWS):
        block = Z[start : start + _CHUNK_ROWS].astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        zero = norms == 0.0
        n_zero += int(zero.sum())
        norms[zero] = 1.0
        block /= norms[:, None]
        Z[start : start + _CHUNK_ROWS] = block
    if n_zero:
        logger.warning("%d row(s) have norm 0 after centring; their cosine with every item is 0", n_zero)
    return Z


def check_labeled(labeled: Iterable[int] | None, n: int) -> np.ndarray:
    """Labeled row numbers as a duplicate-free int64 array, in the given order."""
    if labeled is None:
        return np.zeros(0, dtype=np.int64)
    try:
        arr = np.asarray(list(labeled) if not isinstance(labeled, np.ndarray) else labeled)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"labeled must be a sequence of row numbers: {exc}") from exc
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise InvalidInputError(
            f"labeled must be a 1-D sequence of integer row numbers; got dtype {arr.dtype}, shape {arr.shape}"
        )
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n:
        bad = int(arr[(arr < 0) | (arr >= n)][0])
        raise InvalidInputError(f"labeled row {bad} is out of range for a pool of {n} items")
    _, first = np.unique(arr, return_index=True)
    if len(first) != len(arr):
        logger.debug("dropping %d duplicate labeled ids", len(arr) - len(first))
        arr = arr[np.sort(first)]
    return arr


def check_budget(budget: Any, n: int, n_labeled: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral):
        raise InvalidInputError(f"budget must be an integer; got {budget!r}")
    budget = int(budget)
    available = n - n_labeled
    if budget <= 0 or budget > available:
        raise InvalidInputError(
            f"budget must satisfy 0 < budget <= n_examples - len(labeled) = {available} "
            f"(n_examples={n}, labeled={n_labeled}); got {budget}"
        )
    return budget


def check_seed(seed: Any) -> int:
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer or None; got {seed!r}")
    return int(seed)


def check_int(value: Any, name: str, *, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInputError(f"{name} must be {rng}; got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a number; got {value!r}")
    value = float(value)
    ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        br = ("(" if low_open else "[") + f"{lo}, {hi}" + (")" if high_open else "]")
        raise InvalidInputError(f"{name} must be a finite number in {br}; got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_optional_int(value: Any, name: str, *, low: int = 1) -> int | None:
    return None if value is None else check_int(value, name, low=low)


def json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop values that are not JSON-serialisable (callables) from a parameter dict."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif callable(value):
            out[key] = getattr(value, "__qualname__", type(value).__name__)
        else:
            out[key] = str(value)
    return out
