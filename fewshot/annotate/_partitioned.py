"""Partitioned selection: for pools whose kNN graph does not fit one machine.

`partitioned_select` runs a registered selection method on pieces of the pool, then chooses
among the union of their picks (issue #17):

1. Partitions. A spherical k-means coarse quantizer with ``n_partitions`` centroids is trained
   on a seeded sample of the prepared rows (`fewshot.annotate._graph_ivf.train_coarse`, FAISS
   k-means) and every row joins the partition of its most similar centroid.
2. Quotas. ``T = min(ceil(oversample * budget), unlabeled rows)`` candidates are shared among the
   partitions in proportion to their unlabeled rows, by largest remainder (`partition_quotas`):
   each quota is ``floor(T * a_i / A)`` or one more, never more than the partition's unlabeled
   rows, and they sum to ``T``.
3. Per partition. ``method`` chooses the partition's quota among its rows, with the partition's
   labeled rows counted as selected, on a graph built over the partition alone.
4. The final choice (``final``) of ``budget`` rows among the candidates:

   * ``"greedy"`` (the issue's design): ``method`` runs once more on the candidates' own vectors
     and graph, every labeled row of the pool joining as already selected (a partition whose
     quota is all of its unlabeled rows then gives them all without running the method);
   * ``"merge"``: the candidates of largest score (the gain each had when its partition's greedy
     picked it), whatever their partition. When no kNN edge crosses partitions this is exactly
     the method's greedy over the whole pool (each partition's gains fall only with its own
     picks), so the partitions' graphs keep counting the pool's rows; the candidates-only graph
     of ``"greedy"`` sees only the candidates. Scores must be gains for this to mean anything:
     vote-k, facility and IDEAL, not ``random`` (scores 0) nor ``kmeans`` (cluster sizes).

Vectors are prepared exactly as `fewshot.annotate.prepare_vectors` prepares them (the pool's mean
subtracted when ``center``, rows L2-normalised), but one partition at a time: the input may be a
``numpy.memmap`` that never sits in memory whole. With one partition the result is the method's
own selection bit for bit: with ``"merge"`` always (greedy picks are nested), with ``"greedy"``
when ``oversample`` makes every row a candidate.

Memory bound (``n`` rows of dimension ``d``, ``m`` rows in the largest partition, ``k`` graph
neighbours, ``T`` candidates): besides the input itself, about 13 bytes per row (an int32
partition label, a labeled flag and an int64 sort order), the quantizer's training sample
(``train_size x d`` float32), one partition at a time (``m x d`` float32 rows, its ``m x k`` graph
and the method's state: 3.6-11 kB per row for vote-k at k = 150, as measured by the benchmark) and
the ``T`` candidates (with ``"greedy"`` also their ``T + len(labeled)`` rows and graph). The whole
pool's ``n x k`` graph is never built (with vote-k at k = 150 it and its reversed edges take about
2.4 kB per row). With ``map_fn=ray_map`` the partitions run as Ray tasks (one CPU each), so the
per-partition memory is on the workers; the driver then puts every partition's rows in the object
store (``n x d`` float32 in all, spilled to disk by Ray when it must) and keeps only the candidates.

What is lost against the exact selection is measured by ``benchmarks/bench_partitioned.py`` (see
README "Scaling": ``"merge"`` lost less than ``"greedy"`` in every measured case).
Only count budgets are supported (no ``budget_cost``); ``Selection.influence`` is ``None``
(an influence over a part of the graph would not be the pool's).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    ProgressCallback,
    Selection,
    check_budget,
    check_float,
    check_int,
    check_labeled,
    check_matrix,
    check_seed,
    json_params,
)
from fewshot.annotate._graph_ivf import assign_lists, train_coarse
from fewshot.annotate._strategies import STRATEGIES, get_strategy
from fewshot.exceptions import InvalidInputError

__all__ = [
    "FINAL_RULES",
    "PartitionTask",
    "final_rule",
    "partitioned_select",
    "partition_quotas",
    "ray_map",
    "run_partition",
]

logger = logging.getLogger(__name__)

#: Rows prepared (float64 norms) and assigned at a time: 12 MB of float64 at 384 dimensions.
_CHUNK_ROWS = 4096
#: Quantizer training sample: ``max(TRAIN_PER_PARTITION * n_partitions, TRAIN_MIN)`` rows, at most ``n``.
TRAIN_PER_PARTITION = 256
TRAIN_MIN = 20_000
#: How the candidates become the selection (`partitioned_select`'s ``final``); ``"auto"``: ``"merge"``
#: for methods whose scores are greedy gains (``scores_are_gains``), else ``"greedy"``.
FINAL_RULES = ("auto", "greedy", "merge")


def final_rule(final: str, method: str) -> str:
    """The final choice ``final`` names for ``method``: ``"auto"`` becomes ``"merge"`` when the
    method's scores are the gains its greedy saw (``scores_are_gains``: vote-k, facility location,
    IDEAL and their variants), else ``"greedy"``. Raises `InvalidInputError` for an unknown rule."""
    if final not in FINAL_RULES:
        raise InvalidInputError(f"final must be one of {', '.join(FINAL_RULES)}; got {final!r}")
    if final != "auto":
        return final
    return "merge" if getattr(STRATEGIES.get(method), "scores_are_gains", False) else "greedy"


@dataclass(frozen=True)
class PartitionTask:
    """One partition's selection: ``quota`` rows of ``Z`` chosen by ``method``.

    ``rows`` are the partition's row numbers in the pool (ascending), ``Z`` their prepared
    vectors (float32, ``(len(rows), dim)``), ``labeled`` the positions in ``rows`` of labeled rows.
    """

    method: str
    params: dict[str, Any]
    rows: np.ndarray
    Z: np.ndarray
    labeled: np.ndarray
    quota: int
    seed: int
    index: int = field(default=0)


#: ``map_fn(fn, tasks) -> results``: applies ``fn`` to every task and yields the results in
#: task order (the builtin `map` runs them one by one in this process).
PartitionResult = tuple[np.ndarray, np.ndarray]
MapFn = Callable[[Callable[[PartitionTask], PartitionResult], Iterable[PartitionTask]], Iterable[PartitionResult]]


def run_partition(task: PartitionTask) -> PartitionResult:
    """``(rows, scores)``: the pool row numbers (int64, selection order) that ``task.method`` picks in
    the partition, and the score of each pick (float64, the method's gain when it was picked)."""
    strategy = get_strategy(task.method, **task.params)
    params = strategy._check_params(task.Z.shape[0])
    params["seed"] = task.seed
    sel = strategy._select(task.Z, task.quota, task.labeled, task.seed, None, params)
    return task.rows[sel.indices].astype(np.int64), np.asarray(sel.scores, dtype=np.float64)


def ray_map(
    fn: Callable[[PartitionTask], PartitionResult], tasks: Iterable[PartitionTask]
) -> Iterator[PartitionResult]:
    """A ``map_fn`` running every task as a Ray task with one CPU (joins or starts a Ray session as
    `fewshot.annotate._graph_ray` does). Raises `MissingDependencyError` without the ``ray`` extra."""
    from fewshot.annotate._graph_ray import _ray

    ray = _ray()
    remote = ray.remote(num_cpus=1)(fn)
    refs = [remote.remote(t) for t in tasks]
    return (ray.get(ref) for ref in refs)


def partition_quotas(sizes: Any, total: int) -> np.ndarray:
    """Share ``total`` among partitions of ``sizes`` rows in proportion to their size.

    Largest remainder: partition ``i`` gets ``floor(total * sizes[i] / sum(sizes))``, and the
    rows left go one each to the largest fractional parts (ties to the lower partition number).
    Exact integer arithmetic; ``0 <= quota[i] <= sizes[i]`` when ``total <= sum(sizes)``.

    Examples
    --------
    >>> partition_quotas([50, 30, 20], 7).tolist()
    [4, 2, 1]
    """
    s = np.asarray(sizes, dtype=np.int64)
    if s.ndim != 1 or (s < 0).any():
        raise InvalidInputError(f"sizes must be a 1-D sequence of non-negative counts; got {sizes!r}")
    whole = int(s.sum())
    if isinstance(total, bool) or not isinstance(total, numbers.Integral) or not 0 <= total <= whole:
        raise InvalidInputError(f"total must be an integer from 0 to sum(sizes) = {whole}; got {total!r}")
    if whole == 0:
        return np.zeros_like(s)
    scaled = s * int(total)
    quota, rem = scaled // whole, scaled % whole
    left = int(total) - int(quota.sum())
    if left:
        order = np.lexsort((np.arange(s.shape[0]), -rem))
        quota[order[:left]] += 1
    return quota


def partitioned_select(
    vectors: Any,
    budget: int,
    method: str = "votek",
    *,
    n_partitions: int,
    oversample: float = 2.0,
    labeled: Iterable[int] = (),
    seed: int = 0,
    center: bool = True,
    train_size: int | None = None,
    final: str = "auto",
    map_fn: MapFn | None = None,
    progress: ProgressCallback | None = None,
    **params: Any,
) -> Selection:
    """Choose ``budget`` rows with ``method`` per k-means partition, then among their picks.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
        Embeddings of the pool (finite); a float32 ``numpy.memmap`` is read a partition at a time.
    budget : int
        ``0 < budget <= n_examples - len(labeled)``.
    method : str
        A name registered in `STRATEGIES` that selects from names alone (not ``votek2``).
    n_partitions : int
        Partitions, ``1 <= n_partitions <= n_examples``; the memory per partition falls with it.
    oversample : float, default 2.0
        Candidates kept per final pick (``>= 1``): ``ceil(oversample * budget)`` rows, at most all
        unlabeled rows, go to the final choice.
    labeled : iterable of int
        Rows already annotated: selected from the start in their partition (and with ``"greedy"``
        in the final run), never returned.
    final : {"auto", "greedy", "merge"}
        The final choice among the candidates (see the module docstring). ``"auto"`` (default):
        ``"merge"`` for methods whose scores are gains (vote-k, facility, IDEAL), which lost less
        than ``"greedy"`` in every case ``benchmarks/bench_partitioned.py`` measured; ``"greedy"``
        for the others (`final_rule`). The params record the rule that ran.
    seed : int
        Seed of the quantizer's sample and k-means, and of the method in every run.
    center : bool
        Subtract the pool mean before cosine similarity (as `fewshot.annotate.select`).
    train_size : int, optional
        Rows sampled to train the quantizer (default ``max(256 * n_partitions, 20,000)``).
    map_fn : callable, optional
        ``map_fn(run_partition, tasks)`` yielding each task's result in order; default the builtin
        `map` (one partition after another in this process); `ray_map` runs them on Ray.
    progress : callable, optional
        ``progress(done, n_partitions + 1)``: once per partition, once for the final choice.
    **params
        The method's parameters (``k``, ``rho``, ``exact``, ...), used in every run.

    Returns
    -------
    Selection
        ``indices`` (int64 pool rows, in selection order), ``scores`` (the final greedy's, or the
        partitions' with ``"merge"``), ``method``; ``params`` holds the method's parameters plus
        ``final``, ``n_partitions``, ``oversample``, ``n_candidates``, ``largest_partition``,
        ``partition_sizes`` and, with ``"merge"``, ``saturated_partitions`` (partitions all of whose
        candidates were kept although they had more rows: raise ``oversample`` when it is large).

    Raises
    ------
    InvalidInputError
        A bad matrix, budget, method, parameter, ``n_partitions``, ``oversample`` or ``final``.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(400, 16))
    >>> sel = partitioned_select(X, 10, "facility", n_partitions=4, k=10)
    >>> sel.indices.shape, sel.params["n_partitions"]
    ((10,), 4)
    """
    cls = STRATEGIES.get(method)
    if getattr(cls, "needs_confidence", False):
        raise InvalidInputError(
            f"method {method!r} needs a confidence function over the whole pool; partitioned selection "
            f"runs methods that select from vectors alone ({', '.join(_plain_methods())})"
        )
    X = _as_matrix(vectors)
    n, d = X.shape
    labeled_arr = check_labeled(labeled, n)
    budget = check_budget(budget, n, len(labeled_arr))
    seed = check_seed(seed)
    n_parts = check_int(n_partitions, "n_partitions", low=1, high=n)
    final = final_rule(final, method)
    factor = check_float(oversample, "oversample", low=1.0)
    n_train = min(n, max(TRAIN_PER_PARTITION * n_parts, TRAIN_MIN))
    if train_size is not None:
        n_train = min(n, check_int(train_size, "train_size", low=n_parts))
    get_strategy(method, center=center, **params)._check_params(n)  # bad parameters fail before any work
    mean = _pool_mean(X) if center else None
    total_steps = n_parts + 1

    # 1. partitions
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=n_train, replace=False))
    centroids = train_coarse(_prepare_rows(X, sample, mean), n_parts, n_train, seed=seed)
    part = _assign(X, centroids, mean)
    is_labeled = np.zeros(n, dtype=bool)
    is_labeled[labeled_arr] = True

    # 2. quotas
    sizes = np.bincount(part, minlength=n_parts)
    free = np.bincount(part[~is_labeled], minlength=n_parts)
    n_cand = min(math.ceil(factor * budget), int(free.sum()))
    quotas = partition_quotas(free, n_cand)
    order = np.argsort(part, kind="stable")  # rows by partition, ascending inside each
    bounds = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    logger.debug(
        "partitioned %s: n=%d, %d partitions (largest %d), %d candidates for budget %d",
        method,
        n,
        n_parts,
        int(sizes.max()),
        n_cand,
        budget,
    )

    # 3. per partition
    inner = {"center": center, **params}
    found: list[tuple[int, np.ndarray, np.ndarray]] = []  # (partition, rows, scores)
    tasks: list[int] = []
    for i in range(n_parts):
        rows = order[bounds[i] : bounds[i + 1]]
        if quotas[i] and quotas[i] >= free[i] and final == "greedy":  # all its rows are candidates
            found.append((i, rows[~is_labeled[rows]].astype(np.int64), np.zeros(int(free[i]))))
        elif quotas[i]:
            tasks.append(i)
    done = n_parts - len(tasks)
    if progress is not None and done:
        progress(done, total_steps)

    def make_tasks() -> Iterator[PartitionTask]:
        for i in tasks:
            rows = order[bounds[i] : bounds[i + 1]].astype(np.int64)
            Z = _prepare_rows(X, rows, mean)
            yield PartitionTask(method, inner, rows, Z, np.flatnonzero(is_labeled[rows]), int(quotas[i]), seed, i)

    for i, (picks, scores) in zip(tasks, (map_fn or map)(run_partition, make_tasks()), strict=True):
        found.append((i, np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64)))
        done += 1
        if progress is not None:
            progress(done, total_steps)

    # 4. the final choice among the candidates
    info = {
        "final": final,
        "n_partitions": n_parts,
        "oversample": factor,
        "n_candidates": int(sum(f[1].shape[0] for f in found)),
        "largest_partition": int(sizes.max()),
        "partition_sizes": sizes.tolist(),
    }
    if final == "merge":
        picks, scores, taken = _merge(found, budget)
        # partitions whose every candidate was kept although they had more rows: a larger
        # oversample could have given them more
        info["saturated_partitions"] = sum(
            1 for (i, rows, _), t in zip(found, taken, strict=True) if t == rows.shape[0] < free[i]
        )
        if info["saturated_partitions"]:
            logger.info(
                "partitioned %s: %d partition(s) gave all their candidates", method, info["saturated_partitions"]
            )
        out = json_params({**get_strategy(method, **inner)._check_params(n), "seed": seed})
        sel = Selection(picks, scores, method, {**out, **info})
    else:
        sel = _final_greedy(X, mean, found, labeled_arr, budget, method, inner, seed, info)
    if progress is not None:
        progress(total_steps, total_steps)
    return sel


def _merge(found: list[tuple[int, np.ndarray, np.ndarray]], budget: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The ``budget`` candidates of largest score over all partitions (ties: earlier in their
    partition's order, then the lower partition): the greedy over the pool when no graph edge
    crosses partitions, since each partition's scores then fall as only its own picks add up.
    Returns ``(rows, scores, taken)`` with ``taken[j]`` the picks from ``found[j]``."""
    which = np.concatenate([np.full(rows.shape[0], j) for j, (_, rows, _) in enumerate(found)])
    part = np.concatenate([np.full(rows.shape[0], i) for i, rows, _ in found])
    rank = np.concatenate([np.arange(rows.shape[0]) for _, rows, _ in found])
    rows = np.concatenate([r for _, r, _ in found])
    scores = np.concatenate([s for _, _, s in found])
    top = np.lexsort((part, rank, -scores))[:budget]
    return rows[top], scores[top], np.bincount(which[top], minlength=len(found)).tolist()


def _final_greedy(
    X: np.ndarray,
    mean: np.ndarray | None,
    found: list[tuple[int, np.ndarray, np.ndarray]],
    labeled: np.ndarray,
    budget: int,
    method: str,
    inner: dict[str, Any],
    seed: int,
    info: dict[str, Any],
) -> Selection:
    """``method`` choosing ``budget`` rows among the candidates and the labeled rows (selected
    from the start), on their own vectors and graph."""
    union = np.unique(np.concatenate([*(rows for _, rows, _ in found), labeled]))
    Z_union = _prepare_rows(X, union, mean)
    strategy = get_strategy(method, **inner)
    params = strategy._check_params(union.shape[0])
    params["seed"] = seed
    sel = strategy._select(Z_union, budget, np.searchsorted(union, labeled), seed, None, params)
    return Selection(union[sel.indices].astype(np.int64), sel.scores, sel.method, {**sel.params, **info})


# -- vectors, a partition at a time -----------------------------------------------------------


def _plain_methods() -> list[str]:
    return [name for name in STRATEGIES.names() if not getattr(STRATEGIES.get(name), "needs_confidence", False)]


def _as_matrix(vectors: Any) -> np.ndarray:
    """The input as a 2-D float32 C-contiguous array (no copy for such an array or memmap)."""
    arr = check_matrix(vectors)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _pool_mean(X: np.ndarray) -> np.ndarray:
    """The pool mean exactly as `prepare_vectors` computes it (float64 sum of the float32 rows,
    rounded to float32)."""
    return X.mean(axis=0, dtype=np.float64).astype(np.float32)


def _prepare_rows(X: np.ndarray, rows: np.ndarray | slice, mean: np.ndarray | None) -> np.ndarray:
    """``prepare_vectors(X)[rows]`` without preparing the other rows: the same float32 centring and
    float64 norms, row by row, so the values are identical (float64 work in blocks of
    ``_CHUNK_ROWS`` rows, so the extra memory stays small). Non-finite rows are refused."""
    Z = np.array(X[rows], dtype=np.float32, order="C", copy=True)
    for s in range(0, Z.shape[0], _CHUNK_ROWS):
        part = Z[s : s + _CHUNK_ROWS]
        if not np.isfinite(part).all():
            first = s + int(np.flatnonzero(~np.isfinite(part).all(axis=1))[0])
            bad = first + int(rows.start or 0) if isinstance(rows, slice) else int(rows[first])
            raise InvalidInputError(f"vectors must be finite; row {bad} holds NaN or infinity")
        if mean is not None:
            part -= mean
        block = part.astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        norms[norms == 0.0] = 1.0
        block /= norms[:, None]
        part[:] = block
    return Z


def _assign(X: np.ndarray, centroids: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Each row's partition (int32): its most similar centroid, read chunk by chunk."""
    n = X.shape[0]
    part = np.empty(n, dtype=np.int32)
    for s in range(0, n, _CHUNK_ROWS):
        part[s : s + _CHUNK_ROWS] = assign_lists(_prepare_rows(X, slice(s, s + _CHUNK_ROWS), mean), centroids, 1)[:, 0]
    return part
