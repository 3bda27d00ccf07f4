"""How informative is the LM feedback UDR trains on? Reads the feedback cache of bench_udr.py (no LM
calls: every pair must already be scored) for the round-1 BM25 candidates and reports, per task:

* spread: mean over items of (worst - best) candidate NLL, and of the std of candidate NLLs;
* label agreement: share of the LM's top-5 candidates whose label equals the item's gold label,
  against the share among all candidates (a useful signal puts same-label demonstrations first);
* rank correlation (Spearman) between the LM order and BM25's order.

Usage: python benchmarks/udr_feedback_stats.py [--out benchmarks/out/udr] [bench_udr.py's sizes]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    from bench_udr import load_tasks

    from fewshot.store.feedback import SQLFeedbackCache
    from fewshot.udr import bm25_candidates, mine_feedback

    p = argparse.ArgumentParser()
    p.add_argument("--out", default="benchmarks/out/udr")
    p.add_argument("--lm-name", default=None, help="the LM name stored with the scores [read from the cache]")
    p.add_argument("--tasks", default="sst5,trec,rte,mrpc")
    p.add_argument("--pool", type=int, default=500)
    p.add_argument("--queries", type=int, default=64)
    p.add_argument("--candidates", type=int, default=30)
    p.add_argument("--test", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    tasks, _, _ = load_tasks(args)
    cache = SQLFeedbackCache.sqlite(Path(args.out) / "feedback.sqlite")
    lm_name = args.lm_name
    if lm_name is None:
        import sqlite3

        lm_name = (
            sqlite3.connect(Path(args.out) / "feedback.sqlite")
            .execute("select lm from feedback_scores limit 1")
            .fetchone()[0]
        )

    class NoLM:  # every pair is cached: asking the LM anything is a bug here
        name = lm_name

        def loglikelihood(self, requests):
            raise RuntimeError(f"{len(requests)} pairs are not in the cache")

    print(
        "| task | items | cand/item | NLL spread (worst-best) | NLL std | same label: LM top-5 | same label: all "
        "| Spearman(LM, BM25) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for task in tasks:
        cands = bm25_candidates(task, args.candidates)
        fb = mine_feedback(task, NoLM(), cands, cache=cache)
        spreads, stds, top, allc, rhos = [], [], [], [], []
        for q in task.queries:
            scores = fb[q.id]
            ids = cands[q.id]
            v = np.array([scores[c] for c in ids])
            spreads.append(v.max() - v.min())
            stds.append(v.std())
            order = np.argsort(v, kind="stable")
            same = np.array([task.demo(c).label == q.label for c in ids])
            top.append(same[order[:5]].mean())
            allc.append(same.mean())
            lm_rank = np.empty(len(v))
            lm_rank[order] = np.arange(len(v))
            rhos.append(np.corrcoef(lm_rank, np.arange(len(v)))[0, 1])
        print(
            f"| {task.name} | {len(task.queries)} | {len(ids)} | {np.mean(spreads):.3f} | {np.mean(stds):.3f} | "
            f"{np.mean(top):.3f} | {np.mean(allc):.3f} | {np.mean(rhos):.3f} |"
        )


if __name__ == "__main__":
    main()
