"""IDEAL: fewshot.annotate (RR-set greedy) against the research code's greedy, same vectors.

Usage: python benchmarks/bench_ideal.py [--n 2000] [--budget 18] [--threads 2] [--large]
                                         [--rerun-reference]

The research pattern (benchmarks/_research_reference.py: 10 Monte-Carlo cascades with the
double-counting bug for every candidate at every step, start at node 0) runs once on one thread
and is cached in benchmarks/out/. Both chosen sets are then scored by the same estimator:
duplicate-free Monte-Carlo cascades (``--runs``, common random numbers) on fewshot's k=10
cascade graph. ``--large`` adds n=100,000, B=100 (synthetic clusters), fewshot only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_votek import OUT, peak_rss_mb, pool_vectors, run_worker, synthetic_clusters  # noqa: E402


def worker_reference(x_path: str, budget: int) -> dict:
    import numpy as np
    from _research_reference import research_infmax

    from fewshot.annotate import prepare_vectors

    Z = prepare_vectors(np.load(x_path))
    t, c = time.perf_counter(), time.process_time()
    sel = research_infmax(Z, budget, k=10, rand_iter=10, seed=0)
    return {
        "indices": sel,
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
        "peak_rss_mb": peak_rss_mb(),
    }


def worker_ours(x_path: str | None, n: int, budget: int, threads: int, runs: int) -> dict:
    import numpy as np

    from fewshot.annotate import select

    X = np.load(x_path) if x_path else synthetic_clusters(n)
    select(
        np.random.default_rng(0).normal(size=(300, X.shape[1])), 3, "ideal", n_threads=threads, n_mc=10
    )  # warm-up: imports, thread pools
    rss = peak_rss_mb()
    t, c = time.perf_counter(), time.process_time()
    sel = select(X, budget, "ideal", n_threads=threads, n_mc=runs, seed=0)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "indices": sel.indices.tolist(),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "influence": sel.influence,
        "params": sel.params,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_warmup_mb": rss,
    }


def score_sets(x_path: str, sets: dict[str, list[int]], runs: int) -> dict[str, tuple[float, float]]:
    """Duplicate-free MC influence of each set on fewshot's k=10 graph (common random numbers),
    and the research estimator's own number for comparison."""
    import numpy as np
    from _research_reference import research_graph, research_ic_diffusion

    from fewshot.annotate import build_knn_graph, prepare_vectors
    from fewshot.annotate._diffusion import cascade_model, simulate_spread

    Z = prepare_vectors(np.load(x_path))
    model = cascade_model(build_knn_graph(Z, 10))
    graph = research_graph(Z, 10)
    import random

    out = {}
    for name, seeds in sets.items():
        uniq = np.array(list(dict.fromkeys(seeds)), dtype=np.int64)
        spread = simulate_spread(model, uniq, runs, np.random.default_rng(12345))
        research_est = research_ic_diffusion(graph, [int(s) for s in uniq], 10, random.Random(0))
        out[name] = (float(spread.mean()), float(spread.std(ddof=1) / math.sqrt(runs)), research_est, len(uniq))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--budget", type=int, default=18)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2000, help="MC runs for the influence")
    ap.add_argument("--large", action="store_true", help="also n=100,000, B=100 (ours only)")
    ap.add_argument("--large-n", type=int, default=100_000)
    ap.add_argument("--large-budget", type=int, default=100)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--rerun-reference", action="store_true")
    ap.add_argument("--worker", choices=["reference", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker == "reference":
        print(json.dumps(worker_reference(args.input, args.budget)))
        return
    if args.worker == "ours":
        print(json.dumps(worker_ours(args.input, args.n, args.budget, args.threads, args.runs)))
        return

    import numpy as np

    X, source = pool_vectors(args.n, args.synthetic)
    OUT.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:12]
    x_path = OUT / f"ideal_pool_{digest}.npy"
    np.save(x_path, X)
    me = str(Path(__file__))
    print(f"pool: {source}; budget {args.budget}; cpus {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    ref_cache = OUT / f"ideal_reference_{digest}_b{args.budget}.json"
    if ref_cache.exists() and not args.rerun_reference:
        ref = json.loads(ref_cache.read_text())
        print(f"reference (cached {ref_cache.name}): {ref['seconds']:.1f} s")
    else:
        print("reference (research access pattern, 1 thread) ...", flush=True)
        ref = run_worker([me, "--worker", "reference", "--input", str(x_path), "--budget", str(args.budget)], threads=1)
        ref_cache.write_text(json.dumps(ref))
        print(
            f"reference: {ref['seconds']:.1f} s (CPU {ref['cpu_seconds']:.1f} s), peak RSS {ref['peak_rss_mb']:.0f} MB"
        )
    ours = run_worker(
        [
            me,
            "--worker",
            "ours",
            "--input",
            str(x_path),
            "--budget",
            str(args.budget),
            "--threads",
            str(args.threads),
            "--runs",
            str(args.runs),
        ],
        threads=args.threads,
    )
    print(
        f"ours ({args.threads} threads): {ours['seconds']:.3f} s "
        f"(CPU {ours['cpu_seconds']:.3f} s) "
        f"({ours['params']['rr_sets']} RR sets, epsilon {ours['params']['epsilon']}), "
        f"peak RSS {ours['peak_rss_mb']:.0f} MB; speed-up x{ref['seconds'] / ours['seconds']:.0f}"
    )
    scores = score_sets(str(x_path), {"reference": ref["indices"], "ours": ours["indices"]}, args.runs)
    for name, (mean, se, research_est, size) in scores.items():
        print(
            f"  influence of {name:9s} set ({size} items): {mean:.1f} +- {se:.1f} "
            f"(duplicate-free, {args.runs} runs); research estimator (10 runs, double "
            f"counting): {research_est:.1f}"
        )
    results = {
        "pool": source,
        "n": args.n,
        "budget": args.budget,
        "reference": {k: v for k, v in ref.items() if k != "indices"},
        "ours": {k: v for k, v in ours.items() if k != "indices"},
        "influence": {
            k: {"mean": v[0], "stderr": v[1], "research_estimate": v[2], "size": v[3]} for k, v in scores.items()
        },
    }
    if args.large:
        print(f"large: synthetic clusters n={args.large_n}, budget {args.large_budget} ...", flush=True)
        big = run_worker(
            [
                me,
                "--worker",
                "ours",
                "--n",
                str(args.large_n),
                "--budget",
                str(args.large_budget),
                "--threads",
                str(args.threads),
                "--runs",
                "500",
            ],
            threads=args.threads,
        )
        print(
            f"ours, n={args.large_n} B={args.large_budget}: {big['seconds']:.1f} s "
            f"(CPU {big['cpu_seconds']:.1f} s), "
            f"{big['params']['rr_sets']} RR sets (mean size "
            f"{big['params']['rr_mean_size']:.1f}), influence {big['influence']:.0f} "
            f"+- {big['params']['influence_stderr']:.0f}, peak RSS {big['peak_rss_mb']:.0f} MB"
        )
        results["large"] = {k: v for k, v in big.items() if k != "indices"}
    (OUT / "bench_ideal.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
