"""Ray overhead on one machine: kNN graphs and embedding through a local Ray vs the single-process path.

Usage: python benchmarks/bench_ray.py [--exact-n 100000] [--ivf-n 1000000] [--k 150]
                                       [--texts 10000] [--cpus 2] [--skip-graph] [--skip-embed]

1. Exact graph of ``--exact-n`` synthetic clustered 384-d vectors: `build_knn_graph(exact=True,
   device="cpu")` (FAISS, all CPUs) vs `build_knn_graph_ray(exact=True)` on a local Ray with
   ``--cpus`` CPUs, same run; the two graphs must hold the same neighbours. Target: Ray <= 1.3x.
   (1M exact takes hours on 2 cores; the default is 100k, per-block rates scale linearly.)
2. IVF graph of ``--ivf-n`` rows, single process vs Ray (same plan).
3. Embedding ``--texts`` texts (SST-5 and TREC sentences from the shared data, repeated with a
   counter when there are fewer) with `fewshot embed` (ws.embed) vs `fewshot embed --ray`
   (`ray_embed`), each into a fresh pool of one SQLite workspace. Target: Ray <= 1.2x.

Prints per-block rates used by the README "Scaling" table and writes benchmarks/out/bench_ray.json.
Run under ``flock /tmp/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _same_rows(a, b) -> float:
    import numpy as np

    return float(np.mean(np.all(np.sort(a, axis=1) == np.sort(b, axis=1), axis=1)))


def graph_part(args) -> dict:
    import numpy as np
    from bench_votek import synthetic_clusters

    from fewshot.annotate import build_knn_graph, prepare_vectors
    from fewshot.annotate._graph_ray import build_knn_graph_ray

    out: dict = {}
    if args.exact_n:
        n = args.exact_n
        Z = prepare_vectors(synthetic_clusters(n, n_clusters=max(1, 2000 * n // 1_000_000)))
        t = time.perf_counter()
        local = build_knn_graph(Z, args.k, exact=True, device="cpu", n_threads=args.cpus)
        t_local = time.perf_counter() - t
        t = time.perf_counter()
        dist = build_knn_graph_ray(Z, args.k, exact=True)
        t_ray = time.perf_counter() - t
        same = _same_rows(local.neighbors, dist.neighbors)
        flops = 2.0 * n * n * Z.shape[1]
        out["exact"] = {
            "n": n,
            "local_s": t_local,
            "ray_s": t_ray,
            "ratio": t_ray / t_local,
            "rows_identical": same,
            "gflops_local": flops / t_local / 1e9,
            "gflops_ray": flops / t_ray / 1e9,
        }
        print(
            f"exact graph n={n:,} k={args.k}: single process {t_local:.1f} s, local Ray {t_ray:.1f} s "
            f"-> ratio {t_ray / t_local:.2f} (target <= 1.3); rows with identical neighbours {same:.4f}; "
            f"{flops / t_ray / 1e9:.0f} GFLOP/s on Ray",
            flush=True,
        )
        del Z, local, dist
    if args.ivf_n:
        n = args.ivf_n
        Z = prepare_vectors(synthetic_clusters(n, n_clusters=max(1, 2000 * n // 1_000_000)))
        t = time.perf_counter()
        local = build_knn_graph(Z, args.k, exact=False, approx="ivf", n_threads=args.cpus)
        t_local = time.perf_counter() - t
        t = time.perf_counter()
        dist = build_knn_graph_ray(Z, args.k, exact=False)
        t_ray = time.perf_counter() - t
        rows = np.random.default_rng(0).choice(n, size=2000, replace=False)
        agree = float(
            np.mean([len(set(a) & set(b)) / args.k for a, b in zip(local.neighbors[rows], dist.neighbors[rows])])
        )
        out["ivf"] = {"n": n, "local_s": t_local, "ray_s": t_ray, "ratio": t_ray / t_local, "agreement": agree}
        print(
            f"IVF graph n={n:,} k={args.k}: single process {t_local:.1f} s, local Ray {t_ray:.1f} s "
            f"-> ratio {t_ray / t_local:.2f}; neighbour agreement {agree:.4f}",
            flush=True,
        )
    return out


def _texts(n: int) -> list[str]:
    from bench_votek import SHARED_DATA

    texts: list[str] = []
    for name in ("sst5/train.jsonl", "sst5/dev.jsonl", "sst5/test.jsonl", "trec/train.jsonl", "trec/test.jsonl"):
        path = SHARED_DATA / name
        if not path.exists():
            continue
        with open(path) as fh:
            for line in fh:
                row = json.loads(line)
                t = row.get("text") or row.get("sentence")
                if t:
                    texts.append(str(t))
                if len(texts) >= n:
                    return texts
    base = texts or ["a short sentence about nothing in particular"]
    return [f"{base[i % len(base)]} ({i})" for i in range(n)]


def embed_part(args) -> dict:
    from fewshot import Workspace
    from fewshot.service.ray_embed import ray_embed

    texts = _texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "texts.jsonl"
        data.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
        ws = Workspace.open(Path(tmp) / "home")
        ws.ingest("local", data)
        ws.ingest("ray", data)
        ws.ctx.embedder(ws.get_pool("local").embedding_model).encode(["warm up"])
        t = time.perf_counter()
        local = ws.embed("local")
        t_local = time.perf_counter() - t
        t = time.perf_counter()
        dist = ray_embed(ws, "ray")
        t_ray = time.perf_counter() - t
        ws.close()
    res = {
        "texts": len(texts),
        "local_s": t_local,
        "ray_s": t_ray,
        "ratio": t_ray / t_local,
        "local_texts_per_s": local.embedded / t_local,
        "ray_texts_per_s": dist.embedded / t_ray,
    }
    print(
        f"embedding {len(texts):,} texts: fewshot embed {t_local:.1f} s ({res['local_texts_per_s']:.0f}/s), "
        f"Ray Data {t_ray:.1f} s ({res['ray_texts_per_s']:.0f}/s, actor start-up included) -> ratio "
        f"{t_ray / t_local:.2f} (target <= 1.2)",
        flush=True,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exact-n", type=int, default=100_000)
    ap.add_argument("--ivf-n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--texts", type=int, default=10_000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--skip-graph", action="store_true")
    ap.add_argument("--skip-embed", action="store_true")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.cpus))
    import ray
    from bench_votek import OUT

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    result: dict = {"cpus": args.cpus, "load_average_start": os.getloadavg()}
    if not args.skip_graph:
        result["graph"] = graph_part(args)
    if not args.skip_embed:
        result["embed"] = embed_part(args)
    result["load_average_end"] = os.getloadavg()
    ray.shutdown()
    OUT.mkdir(exist_ok=True)
    path = OUT / "bench_ray.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
