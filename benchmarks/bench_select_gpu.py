"""Selection graphs on a GPU: exactness against FAISS on the CPU, and vote-k on a 1M pool.

Usage: python benchmarks/bench_select_gpu.py [--n-check 50000] [--n 1000000] [--budget 1000]
                                             [--k 150] [--check-budget 100]

Needs torch with CUDA (and faiss for the CPU baseline). Steps, all in one process so every ratio
compares runs on the same machine:

1. ``--n-check`` synthetic clustered vectors: the exact kNN graph by FAISS on all CPU cores and by
   the torch search on the GPU (``device="cuda"``): identical neighbour sets? time ratio; the
   vote-k selection of ``--check-budget`` items from both graphs: identical?
2. ``--n`` vectors (default 1M x 384): ``select(X, budget, "votek", device="cuda")`` with the
   *exact* graph (the CPU default above 200k items is HNSW, which changes the selection), timed by
   phase; peak host RSS and GPU memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-check", type=int, default=50_000)
    ap.add_argument("--check-budget", type=int, default=100)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--device", default="cuda", help="torch device of the GPU path ('torch:cpu' to dry-run)")
    args = ap.parse_args()

    import numpy as np
    import torch
    from bench_votek import peak_rss_mb, synthetic_clusters

    from fewshot.annotate import build_knn_graph, prepare_vectors
    from fewshot.annotate._votek import _VoteGreedy

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA GPU: this benchmark compares the GPU graph search with FAISS on the CPU")
    cuda = args.device.startswith("cuda")
    print(f"GPU: {torch.cuda.get_device_name(0) if cuda else args.device}; CPU threads: {os.cpu_count()}", flush=True)

    # 1. exactness and speed against FAISS at n-check
    Z = prepare_vectors(synthetic_clusters(args.n_check, n_clusters=400))
    t = time.perf_counter()
    g_cpu = build_knn_graph(Z, args.k, exact=True, device="cpu")
    t_cpu = time.perf_counter() - t
    build_knn_graph(Z[:2000], 10, exact=True, device=args.device)  # CUDA context and kernels warm-up
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    g_gpu = build_knn_graph(Z, args.k, exact=True, device=args.device)
    t_gpu = time.perf_counter() - t
    same_sets = bool(np.array_equal(np.sort(g_cpu.neighbors, axis=1), np.sort(g_gpu.neighbors, axis=1)))
    rows_differ = int((np.sort(g_cpu.neighbors, axis=1) != np.sort(g_gpu.neighbors, axis=1)).any(axis=1).sum())
    picks = []
    for g in (g_cpu, g_gpu):
        picks.append(_VoteGreedy(g, 10.0, Z).run(args.check_budget, None)[0])
    print(
        f"[check] n={args.n_check:,} k={args.k}: FAISS CPU exact graph {t_cpu:.2f} s, torch GPU "
        f"{t_gpu:.2f} s, ratio {t_cpu / t_gpu:.1f}x; identical neighbour sets: {same_sets} "
        f"(rows differing: {rows_differ}); vote-k B={args.check_budget} identical: "
        f"{list(picks[0]) == list(picks[1])}",
        flush=True,
    )
    del Z, g_cpu, g_gpu

    # 2. vote-k at n with the exact GPU graph
    t = time.perf_counter()
    X = synthetic_clusters(args.n, n_clusters=2000)
    print(f"[1M] generated {X.shape} in {time.perf_counter() - t:.1f} s", flush=True)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    Zn = prepare_vectors(X)
    t1 = time.perf_counter()
    graph = build_knn_graph(Zn, args.k, exact=True, device=args.device)
    t2 = time.perf_counter()
    sel, _ = _VoteGreedy(graph, 10.0, Zn).run(args.budget, None)
    t3 = time.perf_counter()
    print(
        f"[1M] vote-k n={args.n:,} B={args.budget} k={args.k}, exact graph on the GPU: prepare "
        f"{t1 - t0:.1f} s, graph {t2 - t1:.1f} s, greedy {t3 - t2:.1f} s, total {t3 - t0:.1f} s; "
        f"{len(sel)} picked; peak RSS {peak_rss_mb() / 1024:.2f} GiB, peak GPU memory "
        f"{torch.cuda.max_memory_allocated() / 2**30 if cuda else 0:.2f} GiB",
        flush=True,
    )


if __name__ == "__main__":
    main()
