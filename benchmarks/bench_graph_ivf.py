"""vote-k with the IVF kNN graph: 1M x 384 in one run, and its quality against exact vote-k at 100k.

Usage: python benchmarks/bench_graph_ivf.py [--n 1000000] [--quality-n 100000] [--budget 1000]
                                             [--k 150] [--threads 2] [--recall-rows 200]
                                             [--nprobe N] [--skip-1m] [--skip-quality] [--hnsw]

Part 1 (``--n``): synthetic clustered float32 vectors (benchmarks/bench_votek.py::synthetic_clusters,
2,000 clusters), the same steps as ``select(X, budget, "votek")`` with the default approximate
graph (IVF), called one by one so that each phase is timed: prepare, IVF graph (train, assign,
search), vote-k greedy. Graph recall@k is measured on ``--recall-rows`` random rows against an
exact FAISS search. Target: under 300 s in all on 2 cores (the HNSW graph took 603-963 s).

Part 2 (``--quality-n``): a pool where exact vote-k also runs: selection overlap ``|IVF picks ∩
exact picks| / budget`` (and with ``--hnsw`` the same for the HNSW graph), graph recall and the
time of each graph. Prints figures and writes benchmarks/out/bench_graph_ivf.json; wrap in
``flock /tmp/bench.lock`` on a shared machine (a full run takes several minutes).
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


def _recall(graph_nbrs, exact_nbrs) -> float:
    import numpy as np

    k = graph_nbrs.shape[1]
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(graph_nbrs, exact_nbrs)]))


def _exact_rows(Z, rows, k):
    import faiss

    _, nb = faiss.knn(Z[rows], Z, k + 1, faiss.METRIC_INNER_PRODUCT)
    return nb[:, 1:]


def run_votek(Z, budget: int, k: int, threads: int, progress=None, **graph_kw) -> dict:
    """Graph + greedy timed separately; ``graph_kw`` go to build_knn_graph."""
    from fewshot.annotate import build_knn_graph
    from fewshot.annotate._votek import _VoteGreedy

    t = time.perf_counter()
    graph = build_knn_graph(Z, k, n_threads=threads, progress=progress, **graph_kw)
    t_graph = time.perf_counter() - t
    t = time.perf_counter()
    greedy = _VoteGreedy(graph, 10, Z)
    picks, _ = greedy.run(budget)
    t_greedy = time.perf_counter() - t
    return {"graph": graph, "picks": picks, "graph_s": t_graph, "greedy_s": t_greedy}


def part_1m(args) -> dict:
    import numpy as np
    from bench_votek import peak_rss_mb, synthetic_clusters

    from fewshot.annotate import prepare_vectors
    from fewshot.annotate._graph_ivf import plan_ivf

    t = time.perf_counter()
    X = synthetic_clusters(args.n, n_clusters=2000)
    print(f"[1M] pool {X.shape} generated in {time.perf_counter() - t:.1f} s", flush=True)
    start, cpu0 = time.perf_counter(), time.process_time()
    Z = prepare_vectors(X)
    t_prep = time.perf_counter() - start
    marks: dict[str, float] = {}
    last = [time.perf_counter()]
    n = args.n

    def progress(done: int, total: int) -> None:  # ivf phases: 1 (train) + n (assign) + n (search)
        now = time.perf_counter()
        if done == 1 and "train" not in marks:
            marks["train"] = now - last[0]
            last[0] = now
        elif done == 1 + n and "assign" not in marks:
            marks["assign"] = now - last[0]
            last[0] = now

    out = run_votek(Z, args.budget, args.k, args.threads, progress=progress, exact=False, nprobe=args.nprobe)
    marks["search"] = out["graph_s"] - marks.get("train", 0) - marks.get("assign", 0)
    total = time.perf_counter() - start
    plan = plan_ivf(n, args.k, nprobe=args.nprobe)
    rows = np.random.default_rng(0).choice(n, size=args.recall_rows, replace=False)
    recall = _recall(out["graph"].neighbors[rows], _exact_rows(Z, rows, out["graph"].k))
    res = {
        "n": n,
        "budget": args.budget,
        "k": args.k,
        "threads": args.threads,
        "plan": plan.__dict__,
        "seconds_total": total,
        "cpu_seconds": time.process_time() - cpu0,
        "prepare_s": t_prep,
        "graph_s": out["graph_s"],
        "graph_phases_s": marks,
        "greedy_s": out["greedy_s"],
        "recall_at_k": recall,
        "recall_rows": args.recall_rows,
        "peak_rss_mb": peak_rss_mb(),
        "load_average": os.getloadavg(),
        "target_s": 300,
    }
    print(
        f"[1M] vote-k B={args.budget} k={args.k} on {n:,} x {Z.shape[1]}: {total:.1f} s in all "
        f"(prepare {t_prep:.1f}, IVF graph {out['graph_s']:.1f} = train {marks.get('train', 0):.1f} + assign "
        f"{marks.get('assign', 0):.1f} + search {marks['search']:.1f}, greedy {out['greedy_s']:.1f}); target < 300 s "
        f"-> {'met' if total < 300 else 'NOT met'}",
        flush=True,
    )
    print(
        f"[1M] IVF nlist={plan.nlist} nprobe={plan.nprobe}; recall@{args.k} on {args.recall_rows} rows: {recall:.3f}; "
        f"peak RSS {res['peak_rss_mb']:.0f} MB; load average {res['load_average'][0]:.1f}",
        flush=True,
    )
    return res


def part_quality(args) -> dict:
    import numpy as np
    from bench_votek import synthetic_clusters

    from fewshot.annotate import prepare_vectors

    n = args.quality_n
    Z = prepare_vectors(synthetic_clusters(n, n_clusters=max(1, 2000 * n // 1_000_000)))
    rows = np.random.default_rng(1).choice(n, size=min(n, 1000), replace=False)
    exact = run_votek(Z, args.budget, args.k, args.threads, exact=True, device="cpu")
    res: dict = {
        "n": n,
        "budget": args.budget,
        "k": args.k,
        "exact": {"graph_s": exact["graph_s"], "greedy_s": exact["greedy_s"]},
    }
    print(f"[{n // 1000}k] exact vote-k: graph {exact['graph_s']:.1f} s, greedy {exact['greedy_s']:.1f} s", flush=True)
    exact_set = set(exact["picks"])

    def coverage(picks) -> float:
        """Rows with a pick among their exact k neighbours (or picked): what vote-k's votes reward."""
        chosen = np.zeros(n, dtype=bool)
        chosen[np.asarray(picks)] = True
        nb = exact["graph"].neighbors
        return float(np.mean(chosen | (chosen[np.maximum(nb, 0)] & (nb >= 0)).any(axis=1)))

    res["exact"]["coverage"] = coverage(exact["picks"])
    for name, kw in (("ivf", {"approx": "ivf", "nprobe": args.nprobe}), ("hnsw", {"approx": "hnsw"})):
        if name == "hnsw" and not args.hnsw:
            continue
        out = run_votek(Z, args.budget, args.k, args.threads, exact=False, **kw)
        overlap = len(exact_set & set(out["picks"])) / args.budget
        recall = _recall(out["graph"].neighbors[rows], exact["graph"].neighbors[rows])
        same_prefix = next((i for i, (a, b) in enumerate(zip(out["picks"], exact["picks"])) if a != b), args.budget)
        res[name] = {
            "graph_s": out["graph_s"],
            "greedy_s": out["greedy_s"],
            "overlap": overlap,
            "recall_at_k": recall,
            "identical_prefix": same_prefix,
            "coverage": coverage(out["picks"]),
            "graph_speedup_vs_exact": exact["graph_s"] / out["graph_s"],
        }
        print(
            f"[{n // 1000}k] {name}: graph {out['graph_s']:.1f} s ({exact['graph_s'] / out['graph_s']:.1f}x faster "
            f"than exact), recall@{args.k} {recall:.3f}, selection overlap with exact vote-k {overlap:.3f} "
            f"(first {same_prefix} picks identical); coverage of the exact graph {coverage(out['picks']):.4f} vs "
            f"{res['exact']['coverage']:.4f} for exact vote-k",
            flush=True,
        )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quality-n", type=int, default=100_000)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recall-rows", type=int, default=200)
    ap.add_argument("--nprobe", type=int, default=None)
    ap.add_argument("--skip-1m", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--hnsw", action="store_true", help="also run the HNSW graph in part 2")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    from bench_votek import OUT

    result = {}
    if not args.skip_quality:
        result["quality"] = part_quality(args)
    if not args.skip_1m:
        result["large"] = part_1m(args)
    OUT.mkdir(exist_ok=True)
    path = OUT / "bench_graph_ivf.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
