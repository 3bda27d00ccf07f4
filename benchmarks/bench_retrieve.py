"""Benchmark: batched dense retrieval vs per-query loops, and single-query latency.

Setup: N labeled items (default 100,000) with synthetic 384-d unit vectors drawn around
1,000 cluster centres (so neighbourhoods are non-trivial), and M queries (default 1,000)
near random items. Compared, in one run on the same data:

* ``DenseRetriever.search`` on the whole batch (our public API, flat exact index);
* ``DenseIndex.search`` on the whole batch (the index layer alone);
* a per-query loop of raw FAISS calls on the same ``IndexIDMap2(IndexFlatIP)`` -- what a
  retriever that answers one query at a time does;
* a per-query loop through our own API (``retriever.search([q])``);
* NumPy brute force, batched (matrix product + top-k) and per query;
* filtered batched searches (a 20% label filter and a 1% id filter), with the automatic
  in-search strategy and with the FAISS id selector forced;
* optionally (``--hnsw``) an HNSW index: build time, batched time, recall@k against flat
  (synthetic points are near-equidistant inside a cluster, a hard case for recall), and
  (``--hnsw-real``) HNSW recall on real MiniLM embeddings of the shared datasets.

Then single-query latency p50/p99 *including query embedding* with the bundled
all-MiniLM-L6-v2 on real SST-5 test sentences, over the same 100k-item index.

Run: ``python benchmarks/bench_retrieve.py [--n 100000] [--queries 1000] [--k 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import faiss
import numpy as np

from fewshot.retrieve import (
    Corpus,
    DenseIndex,
    DenseRetriever,
    Example,
    Filter,
    SentenceEncoder,
)
from fewshot.retrieve._topk import topk_rows


def synthetic(n: int, m: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    x = centres[rng.integers(0, 1000, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, m)] + 0.3 * rng.standard_normal((m, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return x, q


def best_of(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` runs (after one warm-up run), seconds."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def numpy_batched(x: np.ndarray, q: np.ndarray, k: int, chunk: int = 250) -> np.ndarray:
    out = []
    for s in range(0, len(q), chunk):
        out.append(topk_rows(q[s : s + chunk] @ x.T, k)[0])
    return np.concatenate(out)


def numpy_per_query(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(q), k), dtype=np.int64)
    for i, v in enumerate(q):
        s = x @ v
        part = np.argpartition(-s, k)[:k]
        out[i] = part[np.argsort(-s[part])]
    return out


def shared_texts(relpath: str, field: str, limit: int) -> list[str]:
    """Texts from the shared data folder (``$FEWSHOT_SHARED_DATA`` or <repo>/../shared/data)."""
    base = Path(os.environ.get("FEWSHOT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    path = base / relpath
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)[field] for _, line in zip(range(limit), fh)]


def sst5_texts(limit: int) -> list[str]:
    texts = shared_texts("sst5/test.jsonl", "text", limit)
    return texts or [f"a short movie review number {i}, neither great nor terrible" for i in range(limit)]


def hnsw_recall_on_real(encoder: SentenceEncoder, k: int, repeats: int) -> None:
    """HNSW recall against exact search on real MiniLM embeddings of the shared data."""
    corpus_texts = (
        shared_texts("sst5/train.jsonl", "text", 10**6)
        + shared_texts("trec/train.jsonl", "text", 10**6)
        + shared_texts("mrpc/train.jsonl", "sentence1", 10**6)
        + shared_texts("gsm8k/train.jsonl", "question", 10**6)
    )
    queries = shared_texts("sst5/test.jsonl", "text", 1000)
    if not corpus_texts or not queries:
        print("real-embedding HNSW check skipped: shared data not found")
        return
    t = time.perf_counter()
    x = encoder.encode(corpus_texts)
    q = encoder.encode(queries)
    print(
        f"\nreal embeddings: {len(corpus_texts):,} corpus texts + {len(queries):,} queries "
        f"embedded in {time.perf_counter() - t:.1f} s"
    )
    flat = DenseIndex(x.shape[1], kind="flat")
    flat.add(np.arange(len(x)), x)
    exact = flat.search(q, k).ids
    t = time.perf_counter()
    hnsw = DenseIndex(x.shape[1], kind="hnsw")
    hnsw.add(np.arange(len(x)), x)
    print(f"  HNSW build {time.perf_counter() - t:.1f} s")
    for ef in (64, 256):
        hnsw._backend.ef_search = ef
        secs = best_of(lambda: hnsw.search(q, k), repeats)
        got = hnsw.search(q, k).ids
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got.tolist(), exact.tolist())])
        print(f"  efSearch={ef}: recall@{k} vs exact {recall:.3f}, batched {secs:.3f} s")


def run_throughput(
    args: argparse.Namespace,
    retriever: DenseRetriever,
    index: DenseIndex,
    raw: faiss.Index,
    corpus: Corpus,
    x: np.ndarray,
    q: np.ndarray,
) -> None:
    """The method table: batched vs per-query, FAISS vs NumPy, filtered, HNSW."""
    n, m, k = len(x), len(q), args.k
    rows: list[tuple[str, float]] = []
    rows.append(("DenseRetriever.search, batched", best_of(lambda: retriever.search(q, k), args.repeats)))
    rows.append(("DenseIndex.search, batched", best_of(lambda: index.search(q, k), args.repeats)))
    rows.append(("raw FAISS, per-query loop", best_of(lambda: [raw.search(v[None], k) for v in q], 1)))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    rows.append(("raw FAISS, per-query loop, 1 OpenMP thread", best_of(lambda: [raw.search(v[None], k) for v in q], 1)))
    faiss.omp_set_num_threads(threads)
    rows.append(
        ("DenseRetriever.search, per-query loop", best_of(lambda: [retriever.search(v[None], k) for v in q], 1))
    )
    rows.append(("NumPy brute force, batched", best_of(lambda: numpy_batched(x, q, k), args.repeats)))
    rows.append(("NumPy brute force, per-query loop", best_of(lambda: numpy_per_query(x, q, k), 1)))
    label_filter = Filter(labels=[3])
    rare_filter = Filter(ids=range(0, n, 100))
    corpus.allowed_keys(label_filter), corpus.allowed_keys(rare_filter)  # warm the cache
    for strategy in ("auto", "selector"):
        index.filter_strategy = strategy
        rows.append(
            (
                f"DenseRetriever.search, batched, 20% label filter, {strategy}",
                best_of(lambda: retriever.search(q, k, filter=label_filter), args.repeats),
            )
        )
        rows.append(
            (
                f"DenseRetriever.search, batched, 1% id filter, {strategy}",
                best_of(lambda: retriever.search(q, k, filter=rare_filter), args.repeats),
            )
        )
    index.filter_strategy = "auto"

    # sanity: all exact methods agree
    ours = retriever.search(q, k).ids
    ref = numpy_batched(x, q, k)
    agree = float((ours == ref).mean())

    ours_t = rows[0][1]
    print(f"\n{'method':<62} {'total s':>9} {'ms/query':>9} {'vs ours':>8}")
    for name, secs in rows:
        print(f"{name:<62} {secs:>9.3f} {1000 * secs / m:>9.3f} {secs / ours_t:>7.1f}x")
    print(f"top-{k} agreement, ours vs NumPy exact: {agree:.4f}")

    if args.hnsw:
        t = time.perf_counter()
        hnsw = DenseIndex(args.dim, kind="hnsw")
        hnsw.add(np.arange(len(x)), x)
        build = time.perf_counter() - t
        print(f"\nHNSW (M=32, efConstruction=80) build: {build:.1f} s")
        for ef in (64, 256):
            hnsw._backend.ef_search = ef
            secs = best_of(lambda: hnsw.search(q, k), args.repeats)
            got = hnsw.search(q, k).ids
            recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got.tolist(), ref.tolist())])
            print(
                f"  efSearch={ef}: batched search {secs:.3f} s ({1000 * secs / m:.3f} ms/query, "
                f"{secs / ours_t:.2f}x flat), recall@{k} vs exact {recall:.3f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-queries", type=int, default=300)
    ap.add_argument("--hnsw", action="store_true", help="also build and time an HNSW index")
    ap.add_argument("--no-model", action="store_true", help="skip the embedding latency part")
    ap.add_argument(
        "--latency-only", action="store_true", help="skip the throughput table (the machine is shared: rerun parts)"
    )
    ap.add_argument(
        "--hnsw-real", action="store_true", help="also measure HNSW recall on real embeddings of the shared data"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n, m, k = args.n, args.queries, args.k

    print(
        f"# fewshot retrieval benchmark: n={n:,} items, {m:,} queries, k={k}, dim={args.dim}, "
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads, "
        f"{os.cpu_count()} CPUs"
    )
    t = time.perf_counter()
    x, q = synthetic(n, m, args.dim, args.seed)
    corpus = Corpus(Example(id=i, text=f"item {i}", label=i % 5) for i in range(n))
    print(f"data + corpus: {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    retriever = DenseRetriever.from_vectors(corpus, x, kind="flat")
    print(f"index build (flat, {n:,} vectors): {time.perf_counter() - t:.2f} s")
    index: DenseIndex = retriever.index
    raw = index._backend.index  # the FAISS IndexIDMap2(IndexFlatIP) itself

    if not args.latency_only:
        run_throughput(args, retriever, index, raw, corpus, x, q)

    if args.no_model:
        return
    texts = sst5_texts(args.latency_queries)
    t = time.perf_counter()
    encoder = SentenceEncoder.from_pretrained()
    print(f"\nembedding model load: {time.perf_counter() - t:.2f} s")
    live = DenseRetriever(corpus, encoder, index=index)
    live._synced = corpus.version  # the index already holds the corpus vectors

    def pct(values: list[float], p: float) -> float:
        return 1000 * float(np.percentile(values, p))

    print(f"single-query latency over {len(texts)} SST-5 sentences, {n:,}-item flat index:")
    for threads in (None, 1):
        encoder.n_threads = threads
        for text in texts[:10]:  # warm-up
            live.retrieve(text, k)
        total, embed = [], []
        for text in texts:
            t0 = time.perf_counter()
            encoder.encode([text])
            t1 = time.perf_counter()
            live.retrieve(text, k)
            t2 = time.perf_counter()
            embed.append(t1 - t0)
            total.append(t2 - t1)
        label = "default torch threads" if threads is None else f"torch threads={threads}"
        print(
            f"  [{label}] retrieve(text) incl. embedding: p50 {pct(total, 50):.2f} ms, "
            f"p99 {pct(total, 99):.2f} ms, mean {1000 * statistics.fmean(total):.2f} ms; "
            f"embedding alone p50 {pct(embed, 50):.2f} ms, p99 {pct(embed, 99):.2f} ms"
        )
    encoder.n_threads = None
    t = time.perf_counter()
    live.retrieve(texts, k)
    batch = time.perf_counter() - t
    print(f"  the same {len(texts)} texts as one batch: {batch:.2f} s ({1000 * batch / len(texts):.2f} ms/query)")
    if args.hnsw_real:
        hnsw_recall_on_real(encoder, k, args.repeats)


if __name__ == "__main__":
    main()
