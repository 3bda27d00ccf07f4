"""Embedding throughput: `fewshot` ingest + embed vs calling SentenceTransformer.encode directly.

Usage: python benchmarks/bench_embed.py [--n 8544] [--data ../shared/data/sst5/train.jsonl]

Both sides embed the same texts with the same model, batch size and thread count, in the same
process; the ratio printed is fewshot's embed time over the direct encode time (target <= 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sst5" / "train.jsonl"))
    ap.add_argument("--n", type=int, default=None, help="first n rows (default: all)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    import numpy as np

    from fewshot import Workspace
    from fewshot.embed import Embedder

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")][: args.n]
    texts = [r["text"] for r in rows]
    embedder = Embedder()
    embedder.encode(texts[:64])  # load and warm up the model once for both sides

    t = time.perf_counter()
    direct = embedder.model.encode(
        texts, batch_size=embedder.batch_size, convert_to_numpy=True, show_progress_bar=False
    )
    t_direct = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open(home)
        ws.use_embedder(embedder)
        subset = Path(home) / "data.jsonl"
        subset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        t = time.perf_counter()
        report = ws.ingest("bench", subset)
        t_ingest = time.perf_counter() - t
        t = time.perf_counter()
        ws.embed("bench")
        t_embed = time.perf_counter() - t
        _, X = ws.vectors("bench")
        t = time.perf_counter()
        again = ws.embed("bench")
        t_cached = time.perf_counter() - t
    same = np.abs(X[:100] - direct[: len(X)][:100]).max() if report.duplicate_count == 0 else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"texts: {len(texts)} ({report.added} unique) from {args.data}")
    print(f"SentenceTransformer.encode direct : {t_direct:7.2f} s  ({len(texts) / t_direct:6.0f} texts/s)")
    print(f"fewshot ingest                   : {t_ingest:7.2f} s")
    print(f"fewshot embed (cold)             : {t_embed:7.2f} s  ({report.added / t_embed:6.0f} texts/s)")
    print(f"fewshot embed (all cached)       : {t_cached:7.3f} s  ({again.cached} cached)")
    print(f"ratio embed/direct               : {t_embed / t_direct:7.3f}  (target <= 1.10)")
    print(f"max |diff| first rows            : {same:.2e}")
    print(
        f"peak RSS                         : {peak:7.0f} MB  (threads: {os.environ.get('OMP_NUM_THREADS', 'default')})",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
