"""vote-k on a 1,000,000 x 384 pool with the approximate (HNSW) graph: time and peak memory.

Usage: python benchmarks/bench_select_1m.py [--n 1000000] [--budget 1000] [--k 150]
                                             [--threads 2] [--recall-rows 200]

Synthetic clustered float32 vectors (benchmarks/bench_votek.py::synthetic_clusters). The run goes
through the same steps as ``select(X, budget, "votek")`` (prepare, HNSW graph, vote-k greedy),
called one by one so that each phase is timed; the caller keeps its input matrix alive, as a
user would. Peak memory is the process's maximum resident set size. Graph recall is measured on
``--recall-rows`` random items against an exact FAISS search. Takes several minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recall-rows", type=int, default=200)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    import numpy as np
    from bench_votek import OUT, peak_rss_mb, synthetic_clusters

    from fewshot.annotate import build_knn_graph, prepare_vectors
    from fewshot.annotate._votek import _VoteGreedy

    marks = {}
    t0 = time.perf_counter()
    X = synthetic_clusters(args.n, n_clusters=2000)
    marks["generate"] = time.perf_counter() - t0
    print(
        f"pool: synthetic clusters {X.shape} float32 ({X.nbytes / 2**30:.2f} GiB), "
        f"generated in {marks['generate']:.1f} s; peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )

    start, cpu0 = time.perf_counter(), time.process_time()
    Z = prepare_vectors(X)
    marks["prepare"] = time.perf_counter() - start
    last = [time.perf_counter(), 0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total // 2 and total == 2 * args.n:
            marks["hnsw_add"] = now - last[0]
            last[0] = now
        if now - last[1] > 30:
            print(f"  graph {done}/{total}  {now - start:.0f} s  RSS peak {peak_rss_mb():.0f} MB", flush=True)
            last[1] = now

    t = time.perf_counter()
    graph = build_knn_graph(Z, args.k, n_threads=args.threads, progress=progress)
    marks["graph"] = time.perf_counter() - t
    marks["hnsw_search"] = marks["graph"] - marks.get("hnsw_add", 0.0)
    print(
        f"graph: exact={graph.exact}, {graph.n_edges:,} edges, {marks['graph']:.1f} s "
        f"(HNSW add {marks.get('hnsw_add', float('nan')):.1f} s); peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )
    t = time.perf_counter()
    greedy = _VoteGreedy(graph, 10, Z)
    marks["votes_csr"] = time.perf_counter() - t
    t = time.perf_counter()
    picks, scores = greedy.run(args.budget)
    marks["greedy"] = time.perf_counter() - t
    total, cpu = time.perf_counter() - start, time.process_time() - cpu0
    print(
        f"vote-k: {len(picks)} picks; votes CSR {marks['votes_csr']:.1f} s, greedy {marks['greedy']:.1f} s", flush=True
    )

    import faiss

    rng = np.random.default_rng(0)
    rows = rng.choice(args.n, size=args.recall_rows, replace=False)
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(Z.shape[1])
    _, exact_nb = faiss.knn(Z[rows], Z, graph.k + 1, faiss.METRIC_INNER_PRODUCT)
    del flat
    recall = float(
        np.mean(
            [
                len(set(graph.neighbors[r].tolist()) & set(exact_nb[i, 1:].tolist())) / graph.k
                for i, r in enumerate(rows)
            ]
        )
    )
    print(f"graph recall@{graph.k} on {args.recall_rows} rows: {recall:.3f} ({time.perf_counter() - t:.1f} s to check)")
    result = {
        "n": args.n,
        "dim": int(Z.shape[1]),
        "budget": args.budget,
        "k": args.k,
        "threads": args.threads,
        "seconds_total": total,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg(),
        "phases": marks,
        "peak_rss_mb": peak_rss_mb(),
        "recall": recall,
        "exact_graph": graph.exact,
        "first_picks": picks[:10],
        "first_scores": scores[:10],
    }
    print(
        f"TOTAL (prepare + graph + vote-k): {total:.1f} s (CPU {cpu:.1f} s over "
        f"{args.threads} threads; load average now {os.getloadavg()[0]:.2f}); "
        f"peak RSS {peak_rss_mb():.0f} MB "
        f"({peak_rss_mb() / 1024:.2f} GiB)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_select_1m.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
