"""Two-stage vote-k (Su et al., 2022): a first batch by the vote-k greedy, the rest chosen
among buckets of the items a model is least confident about (SPEC section 2).

The greedy, its graph and its scores are those of one-stage vote-k (`fewshot.annotate._votek`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from fewshot.annotate._base import Selection, check_float, check_int, json_params
from fewshot.annotate._votek import VoteK, _VoteGreedy
from fewshot.exceptions import InvalidInputError

__all__ = ["TwoStageVoteK", "ConfidenceFn"]

#: ``confidence(selected_indices, candidate_indices) -> scores``; higher means more confident.
ConfidenceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class TwoStageVoteK(VoteK):
    """Two-stage vote-k: a first batch by the vote-k greedy, the rest by model confidence.

    Stage 2 (SPEC section 2) asks ``confidence(selected, candidates)`` for every remaining item,
    sorts them least confident first (stable), cuts the least confident ``bucket_fraction`` of
    the list into ``budget - stage1_size`` equal buckets and takes, from each bucket, the item
    with the highest vote-k score (first one on ties; items whose voters are all selected score
    0). Unlike the research code, ``t(v)`` is updated after every stage-2 pick.

    Parameters
    ----------
    confidence : callable
        ``confidence(selected_indices, candidate_indices) -> ndarray`` of one finite score per
        candidate, higher meaning more confident (e.g. mean token log-likelihood of the model's
        answer with demonstrations retrieved from ``selected_indices``). Required.
    stage1_size : int, default 10
        Items chosen by the plain greedy first (at most ``budget``).
    bucket_fraction : float, default 0.9
    k, rho, exact, n_threads, center, device
        As for :class:`VoteK`.
    """

    name = "votek2"
    #: Needs a ``confidence`` function (model feedback), so it cannot run from names alone.
    needs_confidence: ClassVar[bool] = True

    def __init__(
        self,
        *,
        confidence: ConfidenceFn | None = None,
        stage1_size: int = 10,
        bucket_fraction: float = 0.9,
        k: int = 150,
        rho: float = 10,
        exact: bool | None = None,
        n_threads: int | None = None,
        device: str | None = None,
        center: bool = True,
    ) -> None:
        super().__init__(k=k, rho=rho, exact=exact, n_threads=n_threads, center=center, device=device)
        self.confidence = confidence
        self.stage1_size = stage1_size
        self.bucket_fraction = bucket_fraction

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        if self.confidence is None or not callable(self.confidence):
            raise InvalidInputError(
                "method 'votek2' needs confidence=callable(selected_indices, "
                "candidate_indices) -> scores (higher = more confident)"
            )
        params["confidence"] = self.confidence
        params["stage1_size"] = check_int(self.stage1_size, "stage1_size", low=0)
        params["bucket_fraction"] = check_float(
            self.bucket_fraction, "bucket_fraction", low=0.0, high=1.0, low_open=True
        )
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        confidence = params["confidence"]
        graph = self._graph(Z, params, progress)
        greedy = _VoteGreedy(graph, params["rho"], Z)
        for u in labeled.tolist():
            greedy.add(u)
        m1 = min(params["stage1_size"], budget)
        picks, scores = greedy.run(m1, progress, total=budget)
        m2 = budget - len(picks)
        if m2 > 0:
            selected = np.concatenate([labeled, np.asarray(picks, dtype=np.int64)])
            candidates = np.flatnonzero(~greedy.in_L)
            conf = _call_confidence(confidence, selected, candidates)
            ranked = candidates[np.argsort(conf, kind="stable")]  # least confident first
            width = max(1, int(params["bucket_fraction"] * ranked.shape[0] / m2))
            for b in range(m2):
                bucket = ranked[b * width : (b + 1) * width]
                s = greedy.exact_scores(bucket)
                eligible = (greedy.count[bucket] == 0) | (greedy.n_unselected_voters[bucket] > 0)
                if eligible.any():
                    s_el = np.where(eligible, s, -np.inf)
                    j = int(np.argmax(s_el))
                else:  # the research code would fail on max() of an empty dict here
                    j = 0
                u = int(bucket[j])
                greedy.add(u)
                picks.append(u)
                scores.append(float(s[j]) if eligible[j] else 0.0)
                if progress is not None:
                    progress(len(picks), budget)
        return Selection(
            np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), self.name, json_params(params)
        )


def _call_confidence(fn: ConfidenceFn, selected: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    out = np.asarray(fn(selected.copy(), candidates.copy()), dtype=np.float64)
    if out.shape != candidates.shape:
        raise InvalidInputError(
            f"confidence must return one score per candidate: expected shape {candidates.shape}, got {out.shape}"
        )
    if not np.isfinite(out).all():
        raise InvalidInputError("confidence returned NaN or infinite scores")
    return out
