"""Cluster coverage of a selected set: how much of the pool's layout the annotated items reach.

Label coverage (distinct labels, majority share) needs the gold labels; cluster coverage needs
only the embeddings. The pool is cut into ``cells_per_item * B`` k-means cells (default 2B:
Euclidean k-means, FAISS, on the same centred unit vectors the selection methods see, with a
fixed seed, so every method at one (pool, budget) is measured against the same cells), and the
coverage of a selection is the fraction of cells holding at least one selected item::

    cluster_coverage = |{cell(i) : i in selected}| / n_cells          in [1/n_cells, B/n_cells]

With 2B cells the maximum is 0.5 (every pick in its own cell), and a random selection hits
about ``1 - exp(-1/2) = 0.39`` of the cells when they are of equal size (fewer when a few cells
hold most of the pool, since random picks follow the mass). A method that concentrates its picks
in dense regions (hubs) scores lower; k-means selection (B centroids) scores near the maximum.
The cell count scales with the budget so the figure is comparable across budgets; 2B rather
than B keeps k-means selection from being measured against (nearly) its own centroids.
"""

from __future__ import annotations

import numpy as np

from fewshot.annotate import prepare_vectors
from fewshot.exceptions import InvalidInputError

__all__ = ["CELLS_PER_ITEM", "COVERAGE_SEED", "kmeans_cells", "cluster_coverage"]

#: Cells per annotated item (n_cells = CELLS_PER_ITEM * budget, capped at the pool size).
CELLS_PER_ITEM = 2
#: Seed of the coverage k-means (fixed: the cells do not depend on the run's seed).
COVERAGE_SEED = 1234


def kmeans_cells(
    X: np.ndarray, n_cells: int, *, center: bool = True, seed: int = COVERAGE_SEED, n_iter: int = 20
) -> np.ndarray:
    """The k-means cell of every pool item.

    Parameters
    ----------
    X : ndarray of shape (n_pool, dim)
        Pool embeddings (raw: centred and normalised here as the selection methods do).
    n_cells : int
        Number of cells (capped at ``n_pool``).
    center : bool
        Subtract the pool mean first (the selection default).
    seed, n_iter : int
        FAISS k-means seed and Lloyd iterations.

    Returns
    -------
    ndarray of int64, shape (n_pool,): cell number of each item, in ``[0, n_cells)``.
    """
    import faiss

    Z = prepare_vectors(X, center=center)
    k = max(1, min(int(n_cells), Z.shape[0]))
    if k == 1:
        return np.zeros(Z.shape[0], dtype=np.int64)
    km = faiss.Kmeans(Z.shape[1], k, niter=n_iter, seed=seed, min_points_per_centroid=1, verbose=False)
    km.train(Z)
    _, assign = km.index.search(Z, 1)
    return assign[:, 0].astype(np.int64)


def cluster_coverage(cells: np.ndarray, selected: np.ndarray, n_cells: int) -> float:
    """Fraction of the ``n_cells`` cells holding at least one of the ``selected`` rows.

    >>> cluster_coverage(np.array([0, 0, 1, 2, 3]), np.array([0, 1, 2]), 4)
    0.5
    """
    if n_cells < 1:
        raise InvalidInputError(f"n_cells must be >= 1, got {n_cells}")
    return len(np.unique(cells[np.asarray(selected, dtype=np.int64)])) / n_cells
