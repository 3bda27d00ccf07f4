"""AdaptMI / AdaptMI+ on GSM8K with an offline LM, and skill-prediction accuracy (SPEC 6, issue 7).

Usage: python benchmarks/bench_adaptmi.py [--lm smollm2] [--n 48] [--k 5] [--max-new-tokens 128]
                                          [--samples 3] [--lm-skill-n 48] [--math-lm-n 32] [--threads 1]

Part 1, skill prediction (gold = the ``skills`` field): on all of GSM8K test and on a seeded 20%
held-out split of MATH train (items with a skill; the other 80% is the labeled pool): kNN vote
and logistic regression on all-MiniLM-L6-v2 embeddings, and the LM prompted with the skill
vocabulary (chat template, answer parsed) on the first ``--lm-skill-n`` / ``--math-lm-n`` items;
the majority-skill baseline for scale.

Part 2, the comparison on ``--n`` seeded GSM8K test questions, pool = GSM8K train, k demos:

* fixed          -- the same k seeded train examples for every question (stage 1);
* always-skill   -- k examples of the kNN-predicted skill (one per skill, similarity-ranked);
* AdaptMI        -- stage 1, then skill examples only when the judge says difficult; judges:
                    the LM's confidence (mean token log-prob of its first answer), self-consistency
                    of ``--samples`` sampled answers (T=0.7), and an oracle (first answer wrong:
                    what a perfect reward model would say; an upper bound, not a method);
* AdaptMI+       -- like AdaptMI, but the examples target the skill the failed first answer
                    lacked, named by the same LM, or by kNN skill prediction on question+answer.

Per condition: exact-match accuracy (final number), and the mean per-token NLL of the gold
solution under the final prompt (sensitive even when the LM is almost never right), with how
often the gate fired. Every LM call is cached in ``benchmarks/out/adaptmi/cache.jsonl``, so a
rerun continues where it stopped; ``results.json`` and ``report.md`` are written at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "out" / "adaptmi"
CALC = re.compile(r"<<[^<>]*>>")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


class Cache:
    """Append-only JSONL cache of LM results keyed by sha256 of (kind, payload)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.data[row["key"]] = row["value"]
        self.fh = open(path, "a", encoding="utf-8")

    @staticmethod
    def key(*parts) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def get_or(self, key, fn):
        if key not in self.data:
            self.data[key] = fn()
            self.fh.write(json.dumps({"key": key, "value": self.data[key]}) + "\n")
            self.fh.flush()
        return self.data[key]


def embed_cached(encoder, texts, name):
    path = OUT / f"emb-{name}-{hashlib.sha256(''.join(texts).encode()).hexdigest()[:12]}.npy"
    if path.exists():
        return np.load(path)
    X = encoder.encode(texts)
    np.save(path, X)
    return X


def build_retriever(examples, encoder, name):
    from fewshot.retrieve import Corpus, DenseRetriever

    corpus = Corpus(examples)
    X = embed_cached(encoder, [e.text for e in corpus], name)
    return DenseRetriever.from_vectors(corpus, X, encoder=encoder, kind="flat")


def part1(args, encoder, lm, cache, gsm_retriever, results):
    from fewshot.adaptive import (
        KNNSkillPredictor,
        LMSkillPredictor,
        LogisticSkillPredictor,
        chat_wrapper,
        skill_accuracy,
    )
    from fewshot.retrieve import Example

    out = results.setdefault("skill_prediction", {})
    wrap = chat_wrapper(lm)
    # ---- GSM8K test
    test = read_jsonl(DATA / "gsm8k" / "test.jsonl")
    qs, gold = [r["question"] for r in test], [r["skills"] for r in test]
    embed_cached(encoder, qs, "gsm8k-test")  # warm the query vectors (the predictors re-encode)
    knn = KNNSkillPredictor(gsm_retriever, n_neighbors=16)
    t = time.time()
    logreg = LogisticSkillPredictor.from_retriever(gsm_retriever)
    fit_s = time.time() - t
    train_major = Counter(s for ex in gsm_retriever.corpus for s in ex.skills).most_common(1)[0][0]
    row = {
        "n": len(qs),
        "vocabulary": len(knn.vocabulary),
        "majority_skill": train_major,
        "majority_acc": float(np.mean([train_major in g for g in gold])),
        "knn_acc": skill_accuracy(knn.predict(qs), gold),
        "logreg_acc": skill_accuracy(logreg.predict(qs), gold),
        "logreg_fit_s": fit_s,
    }
    n_lm = min(args.lm_skill_n, len(qs))
    lmp = LMSkillPredictor(lm, knn.vocabulary, wrap=wrap, max_new_tokens=16)
    preds, raws = [], []
    for q in qs[:n_lm]:
        text = cache.get_or(Cache.key("skill", lm.name, lmp.prompt(q)), lambda q=q, lmp=lmp: _lm_skill_raw(lmp, q))
        raws.append(text)
        from fewshot.adaptive import parse_skills

        preds.append(parse_skills(text, lmp.vocabulary, limit=1))
    row.update(
        {
            "lm_n": n_lm,
            "lm_acc": skill_accuracy(preds, gold[:n_lm]),
            "lm_parsed": float(np.mean([bool(p) for p in preds])),
            "lm_pred_counts": Counter(p[0] if p else None for p in preds).most_common(5),
            "knn_acc_same_items": skill_accuracy(knn.predict(qs[:n_lm]), gold[:n_lm]),
            "lm_raw_examples": raws[:5],
        }
    )
    out["gsm8k_test"] = row
    log("skills gsm8k", {k: v for k, v in row.items() if k != "lm_raw_examples"})
    # ---- MATH train, 80/20 split of the items with a skill
    rows = [r for r in read_jsonl(DATA / "math" / "train.jsonl") if r.get("skills")]
    rng = random.Random(0)
    rng.shuffle(rows)
    cut = int(len(rows) * 0.8)
    pool, held = rows[:cut], rows[cut:]
    retr = build_retriever(
        [Example(id=r["id"], text=r["problem"], skills=tuple(r["skills"])) for r in pool], encoder, "math-pool"
    )
    hq, hgold = [r["problem"] for r in held], [r["skills"] for r in held]
    knn_m = KNNSkillPredictor(retr, n_neighbors=16)
    logreg_m = LogisticSkillPredictor.from_retriever(retr)
    major = Counter(s for r in pool for s in r["skills"]).most_common(1)[0][0]
    row = {
        "n_pool": len(pool),
        "n": len(held),
        "vocabulary": len(knn_m.vocabulary),
        "majority_skill": major,
        "majority_acc": float(np.mean([major in g for g in hgold])),
        "knn_acc": skill_accuracy(knn_m.predict(hq), hgold),
        "logreg_acc": skill_accuracy(logreg_m.predict(hq), hgold),
    }
    n_lm = min(args.math_lm_n, len(hq))
    lmp_m = LMSkillPredictor(lm, knn_m.vocabulary, wrap=wrap, max_new_tokens=16)
    preds = []
    for q in hq[:n_lm]:
        text = cache.get_or(Cache.key("skill", lm.name, lmp_m.prompt(q)), lambda q=q: _lm_skill_raw(lmp_m, q))
        from fewshot.adaptive import parse_skills

        preds.append(parse_skills(text, lmp_m.vocabulary, limit=1))
    row.update(
        {
            "lm_n": n_lm,
            "lm_acc": skill_accuracy(preds, hgold[:n_lm]),
            "lm_parsed": float(np.mean([bool(p) for p in preds])),
            "knn_acc_same_items": skill_accuracy(knn_m.predict(hq[:n_lm]), hgold[:n_lm]),
        }
    )
    out["math_heldout"] = row
    log("skills math", row)


def part1_shots(args, encoder, lm, cache, gsm_retriever, results):
    """The LM skill predictor again, with the 4 most similar pool items (and their skills) as shots."""
    from fewshot.adaptive import LMSkillPredictor, chat_wrapper, parse_skills, skill_accuracy
    from fewshot.retrieve import Example

    test = read_jsonl(DATA / "gsm8k" / "test.jsonl")[: args.lm_skill_n]
    sets = [("gsm8k_test", gsm_retriever, [r["question"] for r in test], [r["skills"] for r in test])]
    rows = [r for r in read_jsonl(DATA / "math" / "train.jsonl") if r.get("skills")]
    random.Random(0).shuffle(rows)
    cut = int(len(rows) * 0.8)
    retr = build_retriever(
        [Example(id=r["id"], text=r["problem"], skills=tuple(r["skills"])) for r in rows[:cut]], encoder, "math-pool"
    )
    held = rows[cut : cut + args.math_lm_n]
    sets.append(("math_heldout", retr, [r["problem"] for r in held], [r["skills"] for r in held]))
    for name, retriever, qs, gold in sets:
        from fewshot.adaptive import vocabulary_from

        vocab = vocabulary_from(e.skills for e in retriever.corpus)
        lmp = LMSkillPredictor(lm, vocab, wrap=chat_wrapper(lm), shot_retriever=retriever, n_shots=4)
        preds = []
        for q in qs:
            text = cache.get_or(Cache.key("skill", lm.name, lmp.prompt(q)), lambda q=q, lmp=lmp: _lm_skill_raw(lmp, q))
            preds.append(parse_skills(text, vocab, limit=1))
        row = results["skill_prediction"][name]
        row["lm_shots_acc"] = skill_accuracy(preds, gold)
        row["lm_shots_parsed"] = float(np.mean([bool(p) for p in preds]))
        log("skills with shots", name, row["lm_shots_acc"], row["lm_shots_parsed"])


def _lm_skill_raw(lmp, q, answer=None):
    prompt = lmp.prompt(q, answer)
    if lmp.wrap is not None:
        prompt = lmp.wrap(prompt)
    return lmp.lm.generate([prompt], max_new_tokens=lmp.max_new_tokens, stop=["\n\n", "\nQuestion:"])[0].text


def part2(args, lm, cache, retriever, results):
    from fewshot.adaptive import (
        ConfidenceJudge,
        DifficultyThresholds,
        KNNSkillPredictor,
        LMSkillPredictor,
        SelfConsistencyJudge,
        chat_wrapper,
        parse_skills,
        skill_demonstrations,
    )
    from fewshot.evaluation._datasets import DATASETS
    from fewshot.evaluation._scoring import answers_match, extract_answer, lm_token_counter
    from fewshot.prompt import PromptBuilder

    spec = DATASETS["gsm8k"]
    stop = list(spec.stop)
    builder = PromptBuilder(
        spec.template,
        lm_token_counter(lm),
        max_tokens=args.max_tokens,
        k=args.k,
        reserve_tokens=args.max_new_tokens + 2,
        order="similar_last",
    )
    test = read_jsonl(DATA / "gsm8k" / "test.jsonl")
    rng = random.Random(args.seed)
    items = rng.sample(test, args.n)
    corpus = retriever.corpus
    fixed_ids = random.Random(args.seed + 1).sample(sorted(e.id for e in corpus), args.k)
    fixed = [corpus.get(i) for i in fixed_ids]
    knn = KNNSkillPredictor(retriever, n_neighbors=16)
    lmp = LMSkillPredictor(lm, knn.vocabulary, wrap=chat_wrapper(lm), max_new_tokens=16)
    t = DifficultyThresholds()

    def gen(prompt):
        return cache.get_or(Cache.key("gen", lm.name, prompt, args.max_new_tokens, stop), lambda: _gen(prompt))

    def _gen(prompt):
        g = lm.generate([prompt], max_new_tokens=args.max_new_tokens, stop=stop)[0]
        return {"text": g.text, "lp": list(g.token_logprobs)}

    def samples(prompt):
        return cache.get_or(
            Cache.key("samples", lm.name, prompt, args.max_new_tokens, stop, args.samples, 0.7, 0),
            lambda: [
                g.text
                for g in lm.generate(
                    [prompt], max_new_tokens=args.max_new_tokens, stop=stop, temperature=0.7, seed=0, n=args.samples
                )
            ],
        )

    def nll(prompt, gold):
        return cache.get_or(
            Cache.key("nll", lm.name, prompt, gold), lambda: -lm.loglikelihood([(prompt, " " + gold)])[0].mean
        )

    per = []
    t0 = time.time()
    for qi, r in enumerate(items):
        q, gold_sol, gold = r["question"], CALC.sub("", r["answer"]), r["final_answer"]
        rec = {"id": r["id"], "gold_skills": r["skills"], "gold": gold}
        p_fixed = builder.build(q, fixed).text
        skills = knn.predict([q])[0]
        p_skill = builder.build(q, skill_demonstrations(retriever, q, skills, args.k)).text
        rec["pred_skills"] = skills
        g1 = gen(p_fixed)
        rec["first"] = g1["text"]
        rec["fixed"] = {"correct": answers_match(extract_answer(g1["text"]), gold), "nll": nll(p_fixed, gold_sol)}
        g2 = gen(p_skill)
        rec["skill"] = {"correct": answers_match(extract_answer(g2["text"]), gold), "nll": nll(p_skill, gold_sol)}
        lp = g1["lp"] or [float("-inf")]
        conf = ConfidenceJudge(t).judge(token_logprobs=lp if all(math.isfinite(x) for x in lp) else [-99.0])
        rec["confidence"] = conf.score
        sc = SelfConsistencyJudge(t).judge(samples(p_fixed), first_answer=g1["text"])
        rec["consistency"] = sc.score
        rec["difficult"] = {
            "confidence": conf.difficult,
            "consistency": sc.difficult,
            "oracle": not rec["fixed"]["correct"],
        }
        # AdaptMI+: missing skills named by the LM / by kNN on question + failed answer (asked for every
        # question, so each judge's AdaptMI+ can be read off; only difficult ones are used)
        raw = cache.get_or(
            Cache.key("missing", lm.name, lmp.prompt(q, g1["text"])),
            lambda q=q, g1=g1: _lm_skill_raw(lmp, q, g1["text"]),
        )
        miss_lm = parse_skills(raw, lmp.vocabulary, limit=1) or skills
        miss_knn = knn.predict([q + "\n" + g1["text"]])[0] or skills
        rec["missing_lm"], rec["missing_lm_raw"], rec["missing_knn"] = miss_lm, raw, miss_knn
        for name, miss in (("plus_lm", miss_lm), ("plus_knn", miss_knn)):
            p = builder.build(q, skill_demonstrations(retriever, q, miss, args.k)).text
            g = gen(p)
            rec[name] = {
                "correct": answers_match(extract_answer(g["text"]), gold),
                "nll": nll(p, gold_sol),
                "same_as_skill": p == p_skill,
            }
        per.append(rec)
        el = time.time() - t0
        log(
            f"q{qi + 1}/{args.n} {el / 60:.1f} min; fixed {rec['fixed']['correct']} skill {rec['skill']['correct']} "
            f"conf {rec['confidence']:.3f} sc {rec['consistency']:.2f} skills {skills} miss {miss_lm}/{miss_knn}"
        )
        (OUT / "per_question.json").write_text(json.dumps(per, indent=1))
    results["per_question"] = per
    results["fixed_ids"] = fixed_ids
    results["comparison"] = summarize(per)
    results["confidence_sweep"] = sweep(per)


def _mix(per, judge, hard_key):
    """Per-question (correct, nll) when difficult questions (by ``judge``) take ``hard_key``."""
    acc, nl, fired = [], [], 0
    for r in per:
        d = True if judge == "always" else r["difficult"][judge]
        fired += d
        src = r[hard_key] if d else r["fixed"]
        acc.append(src["correct"])
        nl.append(src["nll"])
    return np.array(acc, float), np.array(nl), fired / len(per)


def _delta(nl, base, seed=0, n_boot=2000):
    """Mean paired NLL difference to the fixed prompt, its 95% bootstrap interval, and how many
    questions got a lower / higher NLL."""
    d = nl - base
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    return {
        "dnll": float(d.mean()),
        "dnll_lo": float(np.quantile(boots, 0.025)),
        "dnll_hi": float(np.quantile(boots, 0.975)),
        "lower": int((d < -1e-9).sum()),
        "higher": int((d > 1e-9).sum()),
    }


def summarize(per):
    base_acc, base_nll, _ = _mix(per, "always", "fixed")
    rows = [
        {
            "condition": "fixed examples",
            "acc": float(base_acc.mean()),
            "nll": float(base_nll.mean()),
            "gate": None,
            **_delta(base_nll, base_nll),
        }
    ]
    acc, nl, _ = _mix(per, "always", "skill")
    rows.append(
        {
            "condition": "always skill-based (kNN skill)",
            "acc": float(acc.mean()),
            "nll": float(nl.mean()),
            "gate": 1.0,
            **_delta(nl, base_nll),
        }
    )
    for judge in ("confidence", "consistency", "oracle"):
        for label, key in (
            ("AdaptMI", "skill"),
            ("AdaptMI+ (LM names missing skill)", "plus_lm"),
            ("AdaptMI+ (kNN on failed answer)", "plus_knn"),
        ):
            acc, nl, fired = _mix(per, judge, key)
            rows.append(
                {
                    "condition": f"{label}, judge={judge}",
                    "acc": float(acc.mean()),
                    "nll": float(nl.mean()),
                    "gate": fired,
                    **_delta(nl, base_nll),
                }
            )
    return rows


def sweep(per):
    confs = sorted(r["confidence"] for r in per)
    out = []
    for qt in (0.1, 0.25, 0.5, 0.75, 0.9):
        thr = float(np.quantile(confs, qt))
        acc, nl, fired = [], [], 0
        for r in per:
            d = r["confidence"] <= thr
            fired += d
            src = r["skill"] if d else r["fixed"]
            acc.append(src["correct"])
            nl.append(src["nll"])
        out.append({"threshold": thr, "gate": fired / len(per), "acc": float(np.mean(acc)), "nll": float(np.mean(nl))})
    return out


def report(args, results, lm_name):
    lines = [
        f"# AdaptMI on GSM8K with {lm_name}",
        "",
        f"k={args.k}, n={args.n} seeded test questions (seed {args.seed}), max_new_tokens={args.max_new_tokens}, "
        f"self-consistency {args.samples} samples at T=0.7, pool = GSM8K train (7,473), all-MiniLM-L6-v2.",
        "",
    ]
    sp = results.get("skill_prediction", {})
    if sp:
        lines += [
            "## Skill prediction (top-1 in gold skills)",
            "",
            "| data | n | vocab | majority | kNN | logreg | LM (n) | LM parsed | LM + 4 retrieved shots (parsed) "
            "| kNN on LM items |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in sp.items():
            shots = f"{r['lm_shots_acc']:.3f} ({r['lm_shots_parsed']:.2f})" if "lm_shots_acc" in r else "-"
            lines.append(
                f"| {name} | {r['n']} | {r['vocabulary']} | {r['majority_acc']:.3f} | {r['knn_acc']:.3f} | "
                f"{r['logreg_acc']:.3f} | {r['lm_acc']:.3f} ({r['lm_n']}) | {r['lm_parsed']:.2f} | {shots} | "
                f"{r['knn_acc_same_items']:.3f} |"
            )
        lines.append("")
    if "comparison" in results:
        n = len(results.get("per_question", [])) or args.n
        lines += [
            "## Comparison",
            "",
            f"{n} questions. NLL = mean per-token NLL of the gold solution under the final "
            "prompt; dNLL = paired difference to fixed examples with a 95% bootstrap interval; lower/higher = "
            "questions whose gold NLL went down/up.",
            "",
            "| condition | exact match | mean NLL | dNLL vs fixed [95% CI] | lower/higher | gate fired |",
            "|---|---|---|---|---|---|",
        ]
        for r in results["comparison"]:
            gate = "-" if r["gate"] is None else f"{r['gate']:.2f}"
            lines.append(
                f"| {r['condition']} | {r['acc']:.3f} | {r['nll']:.4f} | {r['dnll']:+.4f} "
                f"[{r['dnll_lo']:+.4f}, {r['dnll_hi']:+.4f}] | {r['lower']}/{r['higher']} | {gate} |"
            )
        per = results.get("per_question", [])
        if per:
            same_lm = np.mean([r["plus_lm"]["same_as_skill"] for r in per])
            same_knn = np.mean([r["plus_knn"]["same_as_skill"] for r in per])
            pred_ok = np.mean([bool(r["pred_skills"]) and r["pred_skills"][0] in r["gold_skills"] for r in per])
            lines += [
                "",
                f"Predicted (kNN) skill matches the gold skill on {pred_ok:.2f} of these questions. "
                f"AdaptMI+ prompts equal the AdaptMI prompt on {same_lm:.2f} (LM-named) / {same_knn:.2f} "
                "(kNN on the failed answer) of the questions. LM-named missing skills: "
                + ", ".join(f"{k} {v}" for k, v in Counter(r["missing_lm"][0] for r in per).most_common(4))
                + ".",
            ]
            lines += [
                "",
                "Does the gate find the questions skill examples help? Skill-minus-fixed gold NLL (mean, n) "
                "on the questions each judge calls difficult vs easy (the paper's claim: negative on difficult, "
                "positive on easy):",
                "",
            ]
            for judge in ("confidence", "consistency", "oracle"):
                parts = []
                for verdict in (True, False):
                    d = [r["skill"]["nll"] - r["fixed"]["nll"] for r in per if r["difficult"][judge] == verdict]
                    parts.append(
                        f"{'difficult' if verdict else 'easy'} {np.mean(d):+.4f} (n={len(d)})"
                        if d
                        else f"{'difficult' if verdict else 'easy'} - (n=0)"
                    )
                lines.append(f"* {judge}: " + ", ".join(parts))
        lines += [
            "",
            "Confidence-threshold sweep (AdaptMI with kNN skills; thresholds at quantiles of the first "
            "answers' mean token log-prob):",
            "",
            "| threshold | gate fired | exact match | mean NLL |",
            "|---|---|---|---|",
        ]
        for r in results["confidence_sweep"]:
            lines.append(f"| {r['threshold']:.3f} | {r['gate']:.2f} | {r['acc']:.3f} | {r['nll']:.4f} |")
    (OUT / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", default="smollm2")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--max-tokens", type=int, default=2048)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--lm-skill-n", type=int, default=48)
    ap.add_argument("--math-lm-n", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-part1", action="store_true")
    ap.add_argument("--out", default=str(OUT), help="Output folder (default benchmarks/out/adaptmi).")
    ap.add_argument(
        "--lm-shots",
        action="store_true",
        help="After a run: the LM skill predictor with 4 retrieved pool items as shots (adds to results.json).",
    )
    ap.add_argument(
        "--summarize-only",
        action="store_true",
        help="Report from the per-question results written so far (a run still going, or stopped).",
    )
    args = ap.parse_args()
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.lm_shots:
        import torch

        torch.set_num_threads(args.threads)
        from fewshot.lm import get_backend
        from fewshot.retrieve import Example, SentenceEncoder

        results = json.loads((OUT / "results.json").read_text())
        encoder = SentenceEncoder.from_pretrained(n_threads=args.threads)
        train = read_jsonl(DATA / "gsm8k" / "train.jsonl")
        examples = [Example(id=r["id"], text=r["question"], skills=tuple(r["skills"])) for r in train]
        lm = get_backend(args.lm)
        part1_shots(
            args, encoder, lm, Cache(OUT / "cache.jsonl"), build_retriever(examples, encoder, "gsm8k-train"), results
        )
        (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
        args.summarize_only = True
    if args.summarize_only:
        per = json.loads((OUT / "per_question.json").read_text())
        old = json.loads((OUT / "results.json").read_text()) if (OUT / "results.json").exists() else {}
        results = {
            "skill_prediction": old.get("skill_prediction", {}),
            "comparison": summarize(per),
            "confidence_sweep": sweep(per),
            "per_question": per,
        }
        args.n = len(per)
        report(args, results, old.get("lm", args.lm))
        return

    import torch

    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    from fewshot.lm import get_backend
    from fewshot.retrieve import Example, SentenceEncoder

    encoder = SentenceEncoder.from_pretrained(n_threads=args.threads)
    train = read_jsonl(DATA / "gsm8k" / "train.jsonl")
    examples = [
        Example(
            id=r["id"] if "id" in r else f"gsm8k-train-{i}",
            text=r["question"],
            label=r["final_answer"],
            output=CALC.sub("", r["answer"]),
            skills=tuple(r["skills"]),
        )
        for i, r in enumerate(train)
    ]
    t = time.time()
    retriever = build_retriever(examples, encoder, "gsm8k-train")
    log(f"pool ready ({len(examples)} items, {time.time() - t:.0f}s)")
    lm = get_backend(args.lm)
    log(f"LM {lm.name} loaded")
    cache = Cache(OUT / "cache.jsonl")
    results = {"args": vars(args), "lm": lm.name}
    if not args.skip_part1:
        part1(args, encoder, lm, cache, retriever, results)
        (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    part2(args, lm, cache, retriever, results)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    report(args, results, lm.name)


if __name__ == "__main__":
    main()
