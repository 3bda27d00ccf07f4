"""UDR on CPU: one retriever trained jointly on SST-5, TREC, RTE and MRPC with SmolLM2 feedback,
compared with BM25, dense kNN (untrained MiniLM, cosine) and random demonstrations.

Usage (from the repository root; resumable -- LM feedback and LM answers are cached under --out):

    nohup .venv/bin/python benchmarks/bench_udr.py > benchmarks/out/udr/log.txt 2>&1 &

Protocol (per task, seed 0): an annotated pool of ``--pool`` items drawn from the train split; the
first ``--queries`` of them (a random subset) are UDR's training items, each with its top
``--candidates`` BM25 neighbours in the pool (self excluded) scored by the LM (mean NLL of the gold
label given ``x_c y_c \\n x``); ``--rounds`` mining rounds (round 2+ re-mines the top candidates of
the trained model and scores only new pairs). Test: ``--test`` items of the test split (RTE: dev).
Every method retrieves ``--k`` demonstrations from the same pool; the prompt (the task's eval
template, most similar demonstration last) is scored by the LM over the verbalised labels:
accuracy = argmin mean NLL, and the mean NLL of the gold label.

One torch thread throughout (the machine is shared). SmolLM2 runs in bfloat16 (AMX on this CPU:
about 2x the float32 scoring throughput; NLLs agree to ~0.02 nats).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from _stage_log import stage_logger

TASKS = ("sst5", "trec", "rte", "mrpc")
INSTRUCTIONS = {
    "sst5": "Sentiment of the movie review: ",
    "trec": "Answer type of the question: ",
    "rte": "Whether the premise entails the hypothesis: ",
    "mrpc": "Whether the two sentences are paraphrases: ",
}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/out/udr")
    p.add_argument("--lm", default="smollm2")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--pool", type=int, default=500)
    p.add_argument("--queries", type=int, default=48)
    p.add_argument("--candidates", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--test", type=int, default=100)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-rounds", action="store_true", help="also evaluate the model after each round")
    p.add_argument("--methods", default="random,bm25,dense,udr")
    p.add_argument(
        "--feedback",
        default=None,
        help="feedback cache file [OUT/feedback.sqlite]; share it between runs to reuse LM scores",
    )
    p.add_argument("--lm-cache", default=None, help="LM answer cache for the evaluation [OUT/lm_cache.sqlite]")
    return p.parse_args()


def load_tasks(args):
    from fewshot.evaluation._datasets import load_dataset, sample_rows
    from fewshot.udr import UDRTask

    tasks, tests, datasets = [], {}, {}
    for name in args.tasks.split(","):
        ds = load_dataset(name)
        rng = np.random.default_rng(args.seed)
        rows = rng.permutation(len(ds.pool))[: args.pool]
        pool = [ds.pool[i] for i in rows]
        queries = pool[: args.queries]
        test = [ds.test[i] for i in sample_rows(len(ds.test), args.test, np.random.default_rng(args.seed + 1))]
        tasks.append(UDRTask(name, ds.spec.prompt_template(), pool, queries, INSTRUCTIONS.get(name, "")))
        tests[name], datasets[name] = test, ds
    return tasks, tests, datasets


def evaluate(method: str, task, test, ds, lm, lm_cache, *, retriever, args, costs: dict) -> dict:
    """Accuracy and mean gold NLL of ``method``'s prompts on ``test``."""
    from fewshot.evaluation._cache import LMCache
    from fewshot.evaluation._scoring import LMScorer
    from fewshot.retrieve import Demo

    scorer = LMScorer(lm, lm_cache, max_tokens=args.max_tokens, k=args.k, max_new_tokens=8)
    options = ds.options
    builder = scorer.builder(ds.spec.prompt_template(), options=options)
    t0 = time.perf_counter()
    results = retriever.retrieve([q.text for q in test], args.k)
    t_retrieve = time.perf_counter() - t0
    correct, gold_nll, n_demos, tokens, computed = [], [], [], 0, 0
    t_lm = 0.0
    for q, demos in zip(test, results):
        demos = [Demo(d.example, d.score, r) for r, d in enumerate(demos)]
        prompt, used = scorer.build(builder, q, demos)
        key = LMCache.key(lm.name, "options", prompt, {"options": options})
        value = lm_cache.get(key)
        if value is None:
            t1 = time.perf_counter()
            value = {"mean_nll": lm.score_options(prompt, options).mean_nll.tolist()}
            t_lm += time.perf_counter() - t1
            lm_cache.put(key, lm.name, value)
            computed += 1
            tokens += lm.count_tokens(prompt) + sum(lm.count_tokens(o) for o in options)
        nll = np.asarray(value["mean_nll"])
        gold = ds.labels.index(str(q.label))
        correct.append(int(np.argmin(nll)) == gold)
        gold_nll.append(float(nll[gold]))
        n_demos.append(used)
    c = costs.setdefault("eval", {"prompts": 0, "tokens": 0, "seconds": 0.0})
    c["prompts"] += computed
    c["tokens"] += tokens
    c["seconds"] += t_lm
    return {
        "method": method,
        "task": task.name,
        "accuracy": float(np.mean(correct)),
        "gold_nll": float(np.mean(gold_nll)),
        "mean_demos": float(np.mean(n_demos)),
        "n": len(test),
        "retrieve_seconds": round(t_retrieve, 3),
    }


def make_retriever(method: str, task, udr_model, dense_encoder, seed: int):
    from fewshot.retrieve import BM25Retriever, Corpus, DenseRetriever, RandomRetriever

    corpus = Corpus(task.pool)
    if method == "random":
        return RandomRetriever(corpus, seed=seed)
    if method == "bm25":
        return BM25Retriever(corpus)
    if method == "dense":
        return DenseRetriever(corpus, dense_encoder, kind="flat")
    if method.startswith("udr"):
        return udr_model.retriever(corpus, task.name)
    raise ValueError(method)


def table(rows: list[dict], tasks: list[str]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["task"]): r for r in rows}
    head = "| method | " + " | ".join(f"{t} acc | {t} NLL" for t in tasks) + " | mean acc | mean NLL |"
    sep = "|---" * (2 * len(tasks) + 3) + "|"
    lines = [head, sep]
    for m in methods:
        cells, accs, nlls = [], [], []
        for t in tasks:
            r = by.get((m, t))
            if r is None:
                cells.append("- | -")
                continue
            accs.append(r["accuracy"])
            nlls.append(r["gold_nll"])
            cells.append(f"{r['accuracy']:.3f} | {r['gold_nll']:.3f}")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {np.mean(accs):.3f} | {np.mean(nlls):.3f} |")
    return "\n".join(lines)


def main() -> None:
    args = parse()
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from fewshot.evaluation._cache import CacheStats, LMCache
    from fewshot.lm import get_backend
    from fewshot.retrieve import SentenceEncoder
    from fewshot.store.feedback import SQLFeedbackCache
    from fewshot.udr import TrainConfig, run_udr

    t_start = time.perf_counter()
    tasks, tests, datasets = load_tasks(args)
    lm = get_backend(args.lm, device="cpu", dtype=args.dtype, batch_size=8)
    logging.info("LM %s; tasks %s", lm.name, [(t.name, len(t.pool), len(t.queries), len(tests[t.name])) for t in tasks])
    cache = SQLFeedbackCache.sqlite(args.feedback or out / "feedback.sqlite")
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    report = stage_logger(step=0.1)
    methods = args.methods.split(",")
    rows: list[dict] = []
    costs: dict = {}
    dense_encoder = SentenceEncoder.from_pretrained(device="cpu")
    stats = CacheStats()
    with LMCache(Path(args.lm_cache or out / "lm_cache.sqlite"), stats) as lm_cache:

        def eval_round(r: int, run) -> None:
            if not args.eval_rounds or r == args.rounds - 1:
                return
            for task in tasks:
                rt = make_retriever("udr", task, run.model, dense_encoder, args.seed)
                rows.append(
                    evaluate(
                        f"udr (round {r + 1})",
                        task,
                        tests[task.name],
                        datasets[task.name],
                        lm,
                        lm_cache,
                        retriever=rt,
                        args=args,
                        costs=costs,
                    )
                )
                logging.info("%s", rows[-1])

        run = None
        if "udr" in methods:
            run = run_udr(
                tasks,
                lm,
                rounds=args.rounds,
                n_candidates=args.candidates,
                config=config,
                cache=cache,
                name="udr-bench",
                progress=report,
                on_round=eval_round,
            )
            run.model.save(out / "model")
            for r, (m, t) in enumerate(zip(run.mining, run.training)):
                logging.info("round %d: mining %s", r, m.to_dict())
                logging.info(
                    "round %d: training %s, epoch losses %s",
                    r,
                    t.to_dict(),
                    [round(x, 4) for x in t.epoch_means(args.epochs)],
                )
        for method in methods:
            for task in tasks:
                rt = make_retriever(method, task, run.model if run else None, dense_encoder, args.seed)
                name = f"udr (round {args.rounds})" if method == "udr" else method
                rows.append(
                    evaluate(
                        name,
                        task,
                        tests[task.name],
                        datasets[task.name],
                        lm,
                        lm_cache,
                        retriever=rt,
                        args=args,
                        costs=costs,
                    )
                )
                logging.info("%s", rows[-1])
    names = [t.name for t in tasks]
    md = table(rows, names)
    result = {
        "args": vars(args),
        "rows": rows,
        "eval_cost": costs.get("eval"),
        "mining": [m.to_dict() for m in run.mining] if run else [],
        "training": [t.to_dict() | {"epoch_losses": t.epoch_means(args.epochs)} for t in run.training] if run else [],
        "lm": lm.name,
        "wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    (out / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (out / "table.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    if run:
        for r, (m, t) in enumerate(zip(run.mining, run.training)):
            print(
                f"round {r + 1}: LM feedback {m.scored} pairs scored ({m.cached} cached), {m.lm_calls} LM calls, "
                f"{m.tokens} tokens, {m.seconds:.0f} s; training {t.steps} steps, {t.seconds:.0f} s on "
                f"{t.device}"
            )
    ec = costs.get("eval") or {}
    print(
        f"eval: {ec.get('prompts', 0)} prompts scored, {ec.get('tokens', 0)} tokens, "
        f"{ec.get('seconds', 0.0):.0f} s; wall {result['wall_seconds']} s"
    )


if __name__ == "__main__":
    main()
