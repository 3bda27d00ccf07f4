"""Library retrieval vs LangChain's SemanticSimilarityExampleSelector on the same vectors.

Usage: python benchmarks/bench_langchain.py [--n 100000] [--queries 1000] [--lc-path benchmarks/out/lc]

LangChain is not a dependency of fewshot: install it only for this benchmark, e.g.
``pip install --target benchmarks/out/lc langchain-core langchain-community`` (the script
appends that folder to sys.path, after fewshot's own packages). Both sides search the same
L2-normalised vectors with FAISS inner product and get the same pre-computed query vectors,
so what is measured is the retrieval layer, not the embedding model: LangChain's selector
answers one query per call (``select_examples``), fewshot's retriever a batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--lc-path", default=str(REPO / "benchmarks" / "out" / "lc"))
    args = ap.parse_args()
    sys.path.append(args.lc_path)
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings
    from langchain_core.example_selectors import SemanticSimilarityExampleSelector

    from fewshot.retrieve import Corpus, DenseRetriever, Example

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, 384)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Q = rng.standard_normal((args.queries, 384)).astype(np.float32)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    texts = [f"item {i}" for i in range(args.n)]
    qtexts = [f"query {i}" for i in range(args.queries)]
    lookup = {t: v for t, v in zip(texts + qtexts, np.concatenate([X, Q]))}

    class Precomputed(Embeddings):  # the same vectors for both sides, no model in the loop
        def embed_documents(self, docs):
            return [lookup[d].tolist() for d in docs]

        def embed_query(self, text):
            return lookup[text].tolist()

    t = time.perf_counter()
    from langchain_community.vectorstores.utils import DistanceStrategy

    store = FAISS.from_embeddings(
        list(zip(texts, X.tolist())),
        Precomputed(),
        metadatas=[{"text": s, "label": str(i % 5)} for i, s in enumerate(texts)],
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )
    selector = SemanticSimilarityExampleSelector(vectorstore=store, k=args.k, input_keys=["text"])
    t_lc_build = time.perf_counter() - t
    t = time.perf_counter()
    lc = [selector.select_examples({"text": q}) for q in qtexts]
    t_lc = time.perf_counter() - t

    corpus = Corpus(Example(id=i, text=s, label=str(i % 5)) for i, s in enumerate(texts))
    t = time.perf_counter()
    ours = DenseRetriever.from_vectors(corpus, X, kind="flat")
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    res = ours.retrieve(Q, args.k)
    t_ours = time.perf_counter() - t

    agree = np.mean([[e["text"] for e in a] == [d.text for d in b] for a, b in zip(lc, res)])
    print(f"n={args.n} items, {args.queries} queries, k={args.k}, 384-d, same vectors")
    print(
        f"LangChain SemanticSimilarityExampleSelector (FAISS): build {t_lc_build:6.2f} s, "
        f"{args.queries} queries {t_lc:7.3f} s"
    )
    print(
        f"fewshot DenseRetriever, batched                    : build {t_build:6.2f} s, "
        f"{args.queries} queries {t_ours:7.3f} s"
    )
    print(f"speed-up on queries: {t_lc / t_ours:.1f}x   (target >= 10x); identical top-{args.k} lists: {agree:.1%}")


if __name__ == "__main__":
    main()
