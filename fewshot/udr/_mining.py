"""Feedback mining: candidates for each training item, scored by a language model (SPEC 5).

``score(c)`` is the mean NLL of the item's gold output ``y`` given ``x_c y_c \\n x`` (lower is
better). Scores go through a `FeedbackCache`, so a re-run (or the next mining round) only asks the
LM about pairs it has not scored yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._corpus import Corpus
from fewshot.udr._cache import FeedbackCache
from fewshot.udr._task import UDRTask, template_hash

__all__ = ["MiningStats", "Feedback", "candidates_by", "bm25_candidates", "mine_feedback", "merge_candidates"]

logger = logging.getLogger(__name__)

#: ``progress(done, total)`` over the pairs of one mining call.
Progress = Callable[[int, int], None]
#: Per task: query id -> candidate ids (best first by the retriever that found them).
Candidates = dict[Any, list[Any]]
#: Per task: query id -> {candidate id: mean NLL}.
Feedback = dict[Any, dict[Any, float]]


@dataclass
class MiningStats:
    """What one mining call cost."""

    pairs: int = 0  # (query, candidate) pairs asked for
    cached: int = 0  # answered from the cache
    scored: int = 0  # sent to the LM (= LM loglikelihood requests)
    lm_calls: int = 0  # loglikelihood() calls (batches of requests)
    tokens: int = 0  # prompt + continuation tokens of the scored requests
    seconds: float = 0.0  # LM time
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: MiningStats) -> None:
        for name in ("pairs", "cached", "scored", "lm_calls", "tokens", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for task, d in other.per_task.items():
            mine = self.per_task.setdefault(task, {})
            for k, v in d.items():
                mine[k] = mine.get(k, 0) + v

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["seconds"] = round(self.seconds, 2)
        d["tokens_per_second"] = round(self.tokens / self.seconds, 1) if self.seconds > 0 else None
        return d


def candidates_by(retriever: Any, task: UDRTask, n: int) -> Candidates:
    """Top-``n`` pool items for each training query by ``retriever`` (built over the task's pool,
    its ids the pool's ids); the query itself is excluded."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n_candidates must be an int >= 1, got {n!r}")
    n_pool = len(retriever.corpus)
    want = min(n + 1, n_pool)
    results = retriever.retrieve([q.text for q in task.queries], want)
    out: Candidates = {}
    for q, demos in zip(task.queries, results):
        out[q.id] = [d.id for d in demos if d.id != q.id][:n]
    return out


def bm25_candidates(task: UDRTask, n: int = 50) -> Candidates:
    """Top-``n`` BM25 candidates over the task's pool for each training query (self excluded)."""
    from fewshot.retrieve._bm25 import BM25Retriever

    return candidates_by(BM25Retriever(Corpus(task.pool)), task, n)


def merge_candidates(old: Candidates, new: Candidates) -> Candidates:
    """Union per query, old candidates first, no duplicates."""
    out = {q: list(ids) for q, ids in old.items()}
    for q, ids in new.items():
        have = out.setdefault(q, [])
        seen = set(have)
        have.extend(i for i in ids if i not in seen)
    return out


def mine_feedback(
    task: UDRTask,
    lm: Any,
    candidates: Mapping[Any, Sequence[Any]],
    *,
    cache: FeedbackCache,
    chunk_size: int = 64,
    progress: Progress | None = None,
    stats: MiningStats | None = None,
) -> Feedback:
    """LM scores (mean NLL of the gold output) of every (query, candidate) pair.

    Pairs already in ``cache`` are not scored again; newly scored pairs are stored after every
    chunk of ``chunk_size`` requests, so an interrupted run resumes where it stopped.

    Returns query id -> {candidate id: score}. ``stats`` (if given) is incremented.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidInputError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    queries = {q.id: q for q in task.queries}
    lm_name = str(lm.name)
    t_hash = template_hash(task.template)
    keyed: list[tuple[Any, Any, str, str]] = []  # (query id, cand id, item hash, demo hash)
    demo_keys: dict[Any, str] = {}
    for qid, cids in candidates.items():
        if qid not in queries:
            raise InvalidInputError(f"task {task.name!r}: candidates for unknown query id {qid!r}")
        ikey = task.item_key(queries[qid])
        for cid in cids:
            if cid == qid:
                continue
            if cid not in demo_keys:
                demo_keys[cid] = task.demo_key(task.demo(cid))
            keyed.append((qid, cid, ikey, demo_keys[cid]))
    known = cache.get_many(lm_name, t_hash, [(k[2], k[3]) for k in keyed])
    out: Feedback = {qid: {} for qid in candidates}
    missing = []
    for qid, cid, ih, dh in keyed:
        hit = known.get((ih, dh))
        if hit is None:
            missing.append((qid, cid, ih, dh))
        else:
            out[qid][cid] = hit
    local = MiningStats(pairs=len(keyed), cached=len(keyed) - len(missing))
    # the same (item, demo) content may occur twice (duplicate texts): score it once
    unique: dict[tuple[str, str], tuple[Any, Any]] = {}
    for qid, cid, ih, dh in missing:
        unique.setdefault((ih, dh), (qid, cid))
    todo = list(unique.items())
    total = len(todo)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, chunk_size):
        part = todo[start : start + chunk_size]
        requests = [task.feedback_request(queries[qid], task.demo(cid)) for _, (qid, cid) in part]
        t0 = time.perf_counter()
        results = lm.loglikelihood(requests)
        local.seconds += time.perf_counter() - t0
        local.lm_calls += 1
        local.scored += len(part)
        local.tokens += sum(lm.count_tokens(p + c) for p, c in requests)
        rows = []
        for ((ih, dh), _), ll in zip(part, results):
            rows.append((ih, dh, -ll.mean, ll.n_tokens))
            known[(ih, dh)] = -ll.mean
        cache.put_many(lm_name, t_hash, rows)
        if progress is not None:
            progress(start + len(part), total)
    for qid, cid, ih, dh in missing:
        out[qid][cid] = known[(ih, dh)]
    local.per_task[task.name] = {
        "pairs": local.pairs,
        "cached": local.cached,
        "scored": local.scored,
        "tokens": local.tokens,
    }
    logger.info(
        "task %s: %d pairs, %d cached, %d scored (%d tokens, %.1fs)",
        task.name,
        local.pairs,
        local.cached,
        local.scored,
        local.tokens,
        local.seconds,
    )
    if stats is not None:
        stats.add(local)
    return out
