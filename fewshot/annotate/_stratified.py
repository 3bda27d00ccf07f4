"""``stratified``: spend the budget across k-means cells in proportion to their mass.

Influence and vote-k favour dense regions, so their sets over-sample some parts of the pool and
skip others (issue #15: IDEAL's 18 picks held 2 items of a topic class and it lost to random).
Stratification makes every region of the embedding space get its share:

1. Cells: spherical k-means (`spherical_kmeans`, seeded) of the pool into ``n_cells`` cells.
   Default ``n_cells = round(cell_factor * sqrt(T))`` with ``T = budget + len(labeled)`` and
   ``cell_factor = 1``, at least 2 and at most
   ``T`` (and ``n``). The square root balances the two halves of the method: more cells make the
   allocation follow the pool's mass more finely (stratification's benefit), fewer cells leave
   the inner method more items per cell to spread by its own objective (``sqrt(T)`` items per cell
   on average: 4 cells of ~4.5 items at B=18, 10 cells of 10 at B=100). Empty cells are dropped.
2. Quotas (:func:`cell_quotas`): ``T`` is apportioned in proportion to the cells' sizes by
   largest remainder (Hamilton; remainder ties to the larger, then earlier, cell); then every
   cell is raised to ``min_per_cell`` items (default 1, so no region is left out; lowered when
   ``T`` cannot pay it), each item taken from the cell whose quota exceeds its exact share the
   most. Labeled rows count toward their cell's quota: a cell never gets fewer items than it
   already holds labeled, nor more than its rows; the quotas of the others are recomputed over
   what is left until they fit.
3. Inside each cell, the ``inner`` method (any registered name but ``stratified`` and ``auto``;
   default ``facility``) picks ``quota - labeled in the cell`` of the cell's rows (the cell's
   labeled rows are passed as its ``labeled``; vectors as already centred, ``center=False``).
4. Order: the cells' picks are interleaved so that every prefix of the order stays stratified:
   the next item comes from the cell most behind its share, i.e. the largest
   ``quota_c * (t + 1) / T - held_c`` (``held_c``: labeled plus picked so far, ``t``: all held),
   ties to the larger quota, then the earlier cell; inside a cell the inner method's order is
   kept. The budget curve, which reads prefixes, therefore sees stratified sets too.

Scores are the inner method's score of each pick. Deterministic given ``seed`` (used for the
k-means and passed to the inner method).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    Selection,
    SelectionStrategy,
    check_float,
    check_int,
    check_optional_int,
    json_params,
)
from fewshot.annotate._graph import faiss_threads
from fewshot.annotate._kmeans import spherical_kmeans
from fewshot.exceptions import InvalidInputError

__all__ = ["Stratified", "cell_quotas", "default_cell_count", "kmeans_cells"]

#: Methods that cannot run inside a cell (they would recurse).
_NOT_INNER = ("stratified", "auto")


def default_cell_count(total: int, n: int, factor: float = 1.0) -> int:
    """``round(factor * sqrt(total))`` clamped to ``[2, min(total, n)]`` (1 when that range is
    empty)."""
    upper = min(total, n)
    return max(1, min(upper, max(2, int(round(factor * math.sqrt(total))))))


def kmeans_cells(
    Z: np.ndarray,
    n_cells: int,
    seed: int,
    *,
    n_iter: int = 25,
    n_init: int = 4,
    max_points_per_centroid: int = 256,
    n_threads: int | None = None,
) -> list[np.ndarray]:
    """Rows of ``Z`` (unit float32 rows, shape (n, dim)) grouped by their nearest k-means
    centroid: non-empty int64 arrays of increasing row numbers, largest cell first (stable)."""
    with faiss_threads(n_threads):
        _, assign = spherical_kmeans(
            Z, n_cells, seed, n_iter=n_iter, n_init=n_init, max_points_per_centroid=max_points_per_centroid
        )
    sizes = np.bincount(assign, minlength=n_cells)
    order = np.argsort(-sizes, kind="stable")
    rows = np.argsort(assign, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return [rows[starts[c] : starts[c + 1]] for c in order.tolist() if sizes[c] > 0]


def _hamilton(sizes: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Largest-remainder apportionment of ``total`` by ``sizes``, then every cell raised to
    ``minimum`` (lowered to what ``total`` pays), one item at a time, from the cell above the
    minimum whose quota exceeds its exact share the most."""
    m = sizes.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    exact = total * sizes / sizes.sum()
    q = np.floor(exact).astype(np.int64)
    left = total - int(q.sum())
    order = np.lexsort((np.arange(m), -sizes, -(exact - q)))  # largest remainder, larger, earlier cell
    q[order[:left]] += 1
    minimum = min(minimum, total // m)
    for c in np.flatnonzero(q < minimum).tolist():
        while q[c] < minimum:
            surplus = np.where(q > minimum, q - exact, -np.inf)
            donor = int(np.lexsort((np.arange(m), -sizes, -surplus))[0])
            q[donor] -= 1
            q[c] += 1
    return q


def cell_quotas(sizes: Any, total: int, *, labeled: Any = None, min_per_cell: int = 1) -> np.ndarray:
    """Items per cell for ``total`` items in all (labeled included), by the rule of step 2.

    Parameters
    ----------
    sizes : array-like of int, shape (m,)
        Rows per cell (> 0).
    total : int
        ``budget + len(labeled)``, at most ``sum(sizes)``.
    labeled : array-like of int, shape (m,), optional
        Labeled rows per cell: lower bounds of the quotas.
    min_per_cell : int

    Returns
    -------
    ndarray of int64, shape (m,)
        Quotas ``q`` with ``labeled <= q <= sizes`` and ``q.sum() == total``.

    Examples
    --------
    >>> cell_quotas([50, 30, 20], 10).tolist()
    [5, 3, 2]
    >>> cell_quotas([90, 5, 5], 10).tolist()
    [8, 1, 1]
    >>> cell_quotas([50, 30, 20], 10, labeled=[0, 0, 6]).tolist()
    [3, 1, 6]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    low = np.zeros_like(sizes) if labeled is None else np.asarray(labeled, dtype=np.int64)
    if not low.sum() <= total <= sizes.sum():
        raise InvalidInputError(f"total must be between {low.sum()} and {sizes.sum()}; got {total}")
    quota = np.zeros_like(sizes)
    active = np.ones(sizes.shape[0], dtype=bool)
    remaining = int(total)
    while active.any():
        idx = np.flatnonzero(active)
        q = _hamilton(sizes[idx].astype(np.float64), remaining, min_per_cell)
        under, over = q < low[idx], q > sizes[idx]
        # fix the cells whose labeled rows already exceed their share first (the others' share
        # then shrinks), then those too small to hold their share (the others' share grows)
        fix = under if under.any() else over
        if not fix.any():
            quota[idx] = q
            break
        bound = np.where(under, low[idx], sizes[idx])
        quota[idx[fix]] = bound[fix]
        remaining -= int(bound[fix].sum())
        active[idx[fix]] = False
    return quota


def interleave(quotas: np.ndarray, held: np.ndarray, orders: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The pick order of step 4: ``(positions, cells)``, the index into each cell's ``orders``
    list and the cell, for every pick. ``held`` are the labeled rows per cell."""
    total = int(quotas.sum())
    held = held.astype(np.int64).copy()
    taken = np.zeros(quotas.shape[0], dtype=np.int64)
    counts = np.array([o.shape[0] for o in orders], dtype=np.int64)
    share = quotas / max(total, 1)
    rank = np.lexsort((np.arange(quotas.shape[0]), -quotas))  # tie order: larger quota, earlier cell
    n_picks = int(counts.sum())
    cells = np.empty(n_picks, dtype=np.int64)
    pos = np.empty(n_picks, dtype=np.int64)
    t = int(held.sum())
    for i in range(n_picks):
        deficit = share * (t + 1) - held
        deficit[taken >= counts] = -np.inf
        c = int(rank[np.argmax(deficit[rank])])
        cells[i], pos[i] = c, taken[c]
        taken[c] += 1
        held[c] += 1
        t += 1
    return pos, cells


class Stratified(SelectionStrategy):
    """Proportional allocation over k-means cells, an inner method inside each cell.

    Parameters
    ----------
    inner : str, default "facility"
        Registered method run inside each cell (not ``stratified``/``auto``, nor one that needs
        a confidence function).
    inner_params : dict, optional
        Parameters of the inner method (JSON values).
    n_cells : int, optional
        Number of k-means cells (default: ``round(sqrt(budget + len(labeled)))``, see the module
        docstring); capped at ``budget + len(labeled)``.
    cell_factor : float, default 1.0
        Without ``n_cells``: ``round(cell_factor * sqrt(budget + len(labeled)))`` cells.
    min_per_cell : int, default 1
        Items every cell gets at least (taken from the proportional shares of the others).
    n_iter, n_init : int
        k-means settings (as for :class:`KMeansSelection`).
    n_threads : int, optional
    center : bool, default True

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> sel = Stratified().select(X, 9, seed=1)
    >>> len(sel.params["cell_quotas"]), sum(sel.params["cell_quotas"])
    (3, 9)
    """

    name = "stratified"

    def __init__(
        self,
        *,
        inner: str = "facility",
        inner_params: dict[str, Any] | None = None,
        n_cells: int | None = None,
        cell_factor: float = 1.0,
        min_per_cell: int = 1,
        n_iter: int = 25,
        n_init: int = 4,
        n_threads: int | None = None,
        center: bool = True,
    ) -> None:
        super().__init__(center=center)
        self.inner = inner
        self.inner_params = inner_params
        self.n_cells = n_cells
        self.cell_factor = cell_factor
        self.min_per_cell = min_per_cell
        self.n_iter = n_iter
        self.n_init = n_init
        self.n_threads = n_threads

    def _check_params(self, n: int) -> dict[str, Any]:
        from fewshot.annotate._strategies import STRATEGIES

        params = super()._check_params(n)
        if not isinstance(self.inner, str) or self.inner in _NOT_INNER:
            raise InvalidInputError(
                f"inner must be a registered method other than {', '.join(_NOT_INNER)}; got {self.inner!r}"
            )
        cls = STRATEGIES.get(self.inner)  # unknown names: the registry's error, listing the names
        if getattr(cls, "needs_confidence", False):
            raise InvalidInputError(f"inner method {self.inner!r} needs a confidence function; choose another")
        if self.inner_params is not None and not isinstance(self.inner_params, dict):
            raise InvalidInputError(f"inner_params must be a mapping of parameter names; got {self.inner_params!r}")
        inner_params = dict(self.inner_params or {})
        if "center" in inner_params:
            raise InvalidInputError("inner_params must not set center: the cells use the pool's own vectors")
        try:
            cls(**inner_params)
        except TypeError as exc:
            raise InvalidInputError(f"inner_params for {self.inner!r}: {exc}") from None
        params["inner"] = self.inner
        params["inner_params"] = inner_params
        params["n_cells"] = check_optional_int(self.n_cells, "n_cells")
        params["cell_factor"] = check_float(self.cell_factor, "cell_factor", low=0.0, high=1e3, low_open=True)
        params["min_per_cell"] = check_int(self.min_per_cell, "min_per_cell", low=0)
        params["n_iter"] = check_int(self.n_iter, "n_iter", low=1)
        params["n_init"] = check_int(self.n_init, "n_init", low=1)
        params["n_threads"] = check_optional_int(self.n_threads, "n_threads")
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        from fewshot.annotate._strategies import get_strategy

        n = Z.shape[0]
        total = budget + labeled.shape[0]
        n_cells = (
            default_cell_count(total, n, params["cell_factor"])
            if params["n_cells"] is None
            else min(params["n_cells"], total, n)
        )
        cells = kmeans_cells(
            Z, n_cells, seed, n_iter=params["n_iter"], n_init=params["n_init"], n_threads=params["n_threads"]
        )
        is_labeled = np.zeros(n, dtype=bool)
        is_labeled[labeled] = True
        sizes = np.array([c.shape[0] for c in cells], dtype=np.int64)
        held = np.array([int(is_labeled[c].sum()) for c in cells], dtype=np.int64)
        quotas = cell_quotas(sizes, total, labeled=held, min_per_cell=params["min_per_cell"])
        inner = get_strategy(params["inner"], center=False, **params["inner_params"])
        orders: list[np.ndarray] = []
        cell_scores: list[np.ndarray] = []
        done = 0
        for rows, q, h in zip(cells, quotas.tolist(), held.tolist()):
            want = q - h
            if want <= 0:
                orders.append(np.zeros(0, dtype=np.int64))
                cell_scores.append(np.zeros(0, dtype=np.float64))
                continue
            local_labeled = np.flatnonzero(is_labeled[rows])
            sel = inner.select(Z[rows], want, labeled=local_labeled, seed=seed)
            orders.append(rows[sel.indices])
            cell_scores.append(np.asarray(sel.scores, dtype=np.float64))
            done += want
            if progress is not None:
                progress(done, budget)
        pos, which = interleave(quotas, held, orders)
        picks = np.array([orders[c][p] for p, c in zip(pos.tolist(), which.tolist())], dtype=np.int64)
        scores = np.array([cell_scores[c][p] for p, c in zip(pos.tolist(), which.tolist())], dtype=np.float64)
        out = json_params(params)
        out.update(
            inner_params=json_params(params["inner_params"]),
            n_cells_used=len(cells),
            cell_sizes=sizes.tolist(),
            cell_quotas=quotas.tolist(),
            cell_labeled=held.tolist(),
        )
        if progress is not None:
            progress(budget, budget)
        return Selection(picks, scores, self.name, out)
