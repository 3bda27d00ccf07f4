"""Why a method wins or loses: a per-label breakdown of an evaluation's runs.

For each (dataset, scorer, retriever, budget, method) over its seeds, `label_breakdown` gives

* ``recall``: accuracy on the test items of each gold label (which labels the method's
  demonstrations help or hurt);
* ``predicted``: the share of answers given to each label (a model pushed towards one label by
  its demonstrations shows here);
* ``selected``: the mean share of each label in the selected (annotated) set;
* for LM runs, ``follows_vote``: how often the model answered the label its demonstrations voted
  for (the `knn_vote_proxy` prediction of the same run), and ``vote_right``: how often that vote
  was the gold label. A method can lose with a right vote the model ignores, or with a wrong
  vote the model follows; these two numbers tell which.

Runs need ``predictions`` (recorded since they exist; older results.json files lack them) and the
dataset's ``test_gold`` (``EvalResult.datasets[name]["test_gold"]``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["LabelBreakdown", "label_breakdown"]


@dataclass(frozen=True)
class LabelBreakdown:
    """The per-label picture of one (dataset, scorer, retriever, budget, method) over its seeds.

    ``recall``, ``predicted`` and ``selected`` map each label of the dataset to a fraction (see
    the module docstring); ``follows_vote`` and ``vote_right`` are None for proxy rows or when no
    proxy run of the same seed exists.
    """

    dataset: str
    scorer: str
    retriever: str
    budget: int
    method: str
    n_seeds: int
    accuracy: float
    recall: dict[str, float]
    predicted: dict[str, float]
    selected: dict[str, float]
    follows_vote: float | None = None
    vote_right: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(run: Any, name: str) -> Any:
    return run[name] if isinstance(run, Mapping) else getattr(run, name)


def label_breakdown(runs: Sequence[Any], datasets: Mapping[str, Mapping[str, Any]]) -> list[LabelBreakdown]:
    """`LabelBreakdown` rows of classification runs, ordered by dataset, scorer, retriever, budget
    (as a number), method.

    Parameters
    ----------
    runs : sequence of `RunResult` (or their ``to_dict()`` mappings, as in results.json)
    datasets : mapping dataset name -> info holding ``labels`` and ``test_gold``
        (``EvalResult.datasets``).

    Raises
    ------
    InvalidInputError
        A classification run without ``predictions`` (made before they were recorded), or with a
        different count of predictions than its dataset's ``test_gold``.
    """
    proxy_votes: dict[tuple[Any, ...], list[str]] = {}
    for run in runs:
        if _get(run, "scorer") == "proxy":
            key = tuple(_get(run, f) for f in ("dataset", "retriever", "budget", "method", "seed"))
            proxy_votes[key] = list(_get(run, "predictions"))
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for run in runs:
        info = datasets.get(_get(run, "dataset"), {})
        if not info.get("labels") or info.get("task") == "generation":
            continue
        key = tuple(_get(run, f) for f in ("dataset", "scorer", "retriever", "budget", "method"))
        groups[key].append(run)
    out = []
    order = sorted(groups, key=lambda g: (str(g[0]), str(g[1]), str(g[2]), int(g[3]), str(g[4])))
    for dataset, scorer, retriever, budget, method in order:
        group = groups[(dataset, scorer, retriever, budget, method)]
        info = datasets[dataset]
        labels = [str(lb) for lb in info["labels"]]
        gold = np.asarray(info.get("test_gold") or [], dtype=object)
        preds: list[np.ndarray] = []
        follows: list[float] = []
        vote_right: list[float] = []
        selected: defaultdict[str, float] = defaultdict(float)
        for run in group:
            p = list(_get(run, "predictions"))
            if len(p) != len(gold) or not len(gold):
                raise InvalidInputError(
                    f"{dataset} {scorer} {method} B={budget} seed {_get(run, 'seed')}: {len(p)} predictions for "
                    f"{len(gold)} gold labels (results made before predictions were recorded cannot be broken down)"
                )
            preds.append(np.asarray(p, dtype=object))
            counts = _get(run, "label_counts")
            total = sum(counts.values()) or 1
            for lb, c in counts.items():
                selected[str(lb)] += c / total / len(group)
            vote = proxy_votes.get((dataset, retriever, budget, method, _get(run, "seed")))
            if scorer != "proxy" and vote is not None:
                v = np.asarray(vote, dtype=object)
                follows.append(float(np.mean(v == preds[-1])))
                vote_right.append(float(np.mean(v == gold)))
        P = np.stack(preds)  # (n_seeds, n_items)
        right = P == gold[None, :]
        recall = {lb: float(right[:, gold == lb].mean()) if (gold == lb).any() else float("nan") for lb in labels}
        predicted = {lb: float((P == lb).mean()) for lb in labels}
        out.append(
            LabelBreakdown(
                dataset=dataset,
                scorer=scorer,
                retriever=retriever,
                budget=int(budget),
                method=method,
                n_seeds=len(group),
                accuracy=float(right.mean()),
                recall=recall,
                predicted=predicted,
                selected={lb: float(selected.get(lb, 0.0)) for lb in labels},
                follows_vote=float(np.mean(follows)) if follows else None,
                vote_right=float(np.mean(vote_right)) if vote_right else None,
            )
        )
    return out
