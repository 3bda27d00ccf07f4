"""LM backend throughput on CPU: SST-5 option scoring (KV-cache reuse on/off) and generation.

Usage: python benchmarks/bench_lm.py [--models smollm2,gemma3-270m] [--n 16] [--shots 4]
                                     [--gen-prompts 8] [--gen-tokens 32] [--threads N]

For each offline model that loads, the same ``--n`` 4-shot SST-5 prompts (demonstrations drawn
with a fixed seed from train.jsonl, queries from test.jsonl) are scored against the five label
words three ways, in the same process:

* ``reuse, batched``   -- prompt once, the 5 options batched on copies of its KV cache (default);
* ``reuse, 1 by 1``    -- prompt once, options one at a time on the cache (``batch_size=1``);
* ``no reuse``         -- the 5 (prompt, option) pairs as full sequences in one padded batch.

Throughput is in *effective* tokens/s: the tokens of all (prompt, option) sequences, as if each
were run in full, divided by wall time, so the three rows are comparable (their ratio is the
speed-up). It also reports the largest mean-NLL difference between reuse on and off, and the
accuracy of the predictions. This runs twice: with the SST-5 label words (one token each for
the offline models, so the options need no forward pass of their own beyond the prompt's) and
with multi-token verbalisers (where batched vs one-by-one option passes differ). Generation: greedy, ``--gen-tokens`` new tokens for ``--gen-prompts``
prompts, batched (``batch_size=8``) and one at a time; generated tokens/s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sst5"
LABELS = ["terrible", "bad", "okay", "good", "great"]
OPTIONS = [" " + w for w in LABELS]
LONG_OPTIONS = [" very negative", " somewhat negative", " neutral", " somewhat positive", " very positive"]


def build_prompts(n: int, shots: int, seed: int = 0) -> tuple[list[str], list[int]]:
    train = [json.loads(line) for line in open(DATA / "train.jsonl", encoding="utf-8")]
    test = [json.loads(line) for line in open(DATA / "test.jsonl", encoding="utf-8")]
    rng = random.Random(seed)
    prompts, gold = [], []
    for q in rng.sample(test, n):
        demos = rng.sample(train, shots)
        body = "".join(f"Review: {d['text']}\nSentiment: {d['label_text']}\n\n" for d in demos)
        prompts.append(body + f"Review: {q['text']}\nSentiment:")
        gold.append(int(q["label"]))
    return prompts, gold


def time_scoring(lm, prompts: list[str], options: list[str], *, kv_reuse: bool) -> tuple[float, list]:
    t = time.perf_counter()
    scores = [lm.score_options(p, options, kv_reuse=kv_reuse) for p in prompts]
    return time.perf_counter() - t, scores


def bench_scoring(lm, prompts: list[str], gold: list[int], options: list[str], title: str) -> None:
    import numpy as np

    eff_tokens = sum(lm.count_tokens(p + o) for p in prompts for o in options)
    opt_tokens = [len(lm.loglikelihood([(prompts[0], o)])[0].token_logprobs) for o in options]
    print(f"   -- {title}: {options} ({opt_tokens} tokens); {eff_tokens} effective tokens per pass")
    lm.score_options(prompts[0], options)  # warm-up
    t_reuse, s_reuse = time_scoring(lm, prompts, options, kv_reuse=True)
    lm.batch_size = 1
    t_one, s_one = time_scoring(lm, prompts, options, kv_reuse=True)
    lm.batch_size = 8
    t_full, s_full = time_scoring(lm, prompts, options, kv_reuse=False)
    diff = max(float(np.abs(a.mean_nll - b.mean_nll).max()) for a, b in zip(s_reuse, s_full))
    diff1 = max(float(np.abs(a.mean_nll - b.mean_nll).max()) for a, b in zip(s_one, s_full))
    acc = float(np.mean([s.best == g for s, g in zip(s_reuse, gold)]))
    for label, secs in [("reuse, batched", t_reuse), ("reuse, 1 by 1", t_one), ("no reuse", t_full)]:
        print(
            f"   score_options {label:15s}: {secs:7.2f} s  {eff_tokens / secs:8.0f} eff. tok/s  "
            f"{len(prompts) / secs:6.2f} prompts/s"
        )
    print(
        f"   speed-up reuse batched / no reuse: {t_full / t_reuse:5.2f}x   "
        f"reuse 1-by-1 / no reuse: {t_full / t_one:5.2f}x"
    )
    print(
        f"   max |mean NLL reuse - no reuse|: {diff:.2e} (batched), {diff1:.2e} (1 by 1); "
        f"accuracy {acc:.2f} (chance 0.20)"
    )


def bench_model(spec: str, args: argparse.Namespace, prompts: list[str], gold: list[int]) -> None:
    import numpy as np

    from fewshot.lm import get_backend

    t = time.perf_counter()
    try:
        lm = get_backend(spec, device="cpu", batch_size=8)
    except Exception as exc:  # noqa: BLE001 -- report and go on with the next model
        print(f"\n== {spec}: does not load: {type(exc).__name__}: {exc}")
        return
    t_load = time.perf_counter() - t
    prompt_tokens = [lm.count_tokens(p) for p in prompts]
    print(f"\n== {spec}  (loaded in {t_load:.1f} s; max_context {lm.max_context})")
    print(f"   {len(prompts)} prompts, {args.shots}-shot, mean {np.mean(prompt_tokens):.0f} prompt tokens")
    bench_scoring(lm, prompts, gold, OPTIONS, "SST-5 label words")
    bench_scoring(lm, prompts, gold, LONG_OPTIONS, "multi-token verbalisers")

    gen_prompts = prompts[: args.gen_prompts]
    lm.generate(gen_prompts[:1], max_new_tokens=2)  # warm-up
    for bs in (8, 1):
        lm.batch_size = bs
        t = time.perf_counter()
        gens = lm.generate(gen_prompts, max_new_tokens=args.gen_tokens)
        secs = time.perf_counter() - t
        n_tok = sum(g.n_tokens for g in gens)
        print(f"   generate greedy batch {bs}: {n_tok} tokens in {secs:6.2f} s  {n_tok / secs:7.1f} tok/s")
    lm.batch_size = 8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="smollm2,gemma3-270m")
    ap.add_argument("--n", type=int, default=16, help="prompts to score")
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--gen-prompts", type=int, default=8)
    ap.add_argument("--gen-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if not (DATA / "train.jsonl").exists():
        sys.exit(f"SST-5 data not found under {DATA}")
    prompts, gold = build_prompts(args.n, args.shots)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    for spec in args.models.split(","):
        bench_model(spec.strip(), args, prompts, gold)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
