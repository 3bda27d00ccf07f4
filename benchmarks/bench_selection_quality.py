"""Selection quality with paired comparisons: every selection method against random, per task,
budget and scorer, with a bootstrap interval and a win/tie/loss verdict.

Usage (from the repository root; take the benchmark lock on a shared machine)::

    flock /tmp/bench.lock python benchmarks/bench_selection_quality.py              # proxy grid
    nice -n 10 flock /tmp/lm.lock python benchmarks/bench_selection_quality.py --lm llamacpp:smollm2
    python benchmarks/bench_selection_quality.py --report benchmarks/out/selection_quality/proxy.json

Default proxy grid (LM-free `knn_vote_proxy`): tasks sst5 (5 labels), trec (6), rte (2), mrpc (2),
math-subject (7), gsm8k-skill (14, skewed); B in {18, 50, 100}; seeds 0-4 (a new pool of 3,000
per seed); 1,000 test items where the split allows (trec has 500, rte 277); k = 8; every method
registered in `fewshot.annotate.STRATEGIES` except those that need a confidence function.

Default LM grid (``--lm SPEC``, any `fewshot.lm.get_backend` spec, e.g. ``smollm2`` or
``gemma3-270m`` through transformers; the proxy is scored on the same items alongside): task trec;
B in {18, 100}; seeds 0-4; the first 36 of a 256-item test sample; k = 4, 512-token prompts;
methods random, votek, ideal, facility, herding (the variant that keeps the pool's label mix) and
auto (those registered). That is 2,160 prompts: about 30 min per LM at the ~1.2-1.5 prompts/s
measured for SmolLM2-135M and Gemma-3-270M on one thread of a busy 2-core machine (two threads
were 10x slower there, and the local llama.cpp build 5-10x slower than transformers). Widen it
with ``--tasks``, ``--limit``, ``--seeds`` on a bigger machine. Two-stage vote-k (``votek2``;
its stage-2 confidence comes from the same LM, `fewshot.evaluation._confidence`) can be added
with ``--methods``; it asks the LM about every remaining pool item (~2,990 prompts per task and
seed). LM answers are cached in SQLite under ``<out>/cache``, so an interrupted run resumes.

For each (task, scorer, budget, method) the table gives the mean accuracy over seeds and test
items, the paired delta vs random on the same seeds and test items with its 95% bootstrap
interval (2,000 resamples of seeds and test items, `fewshot.evaluation._paired`), the relative
gain (delta / random's accuracy), the verdict (win only when the interval excludes 0), label
coverage (distinct labels chosen / label-set size, majority label's share) and cluster coverage
(fraction of the pool's 2B k-means cells holding a pick; max 0.5, random about 0.39). A
per-method line counts wins/ties/losses over all cells with the mean relative gain.

Writes run_eval's files to ``<out>/<name>/`` (results.json holds per-item correctness and
predictions) and a compact ``<out>/<name>.json`` (summary rows, tally, timings, CPU seconds) plus
``<name>.md``.

Why a method won or lost (``--breakdown <out>/<name>/results.json``): per (task, scorer, B,
method), the accuracy on each gold label, the share of answers per label, the share of each label
in the selected sets and, for LM rows, how often the LM answered its demonstrations' vote and how
often that vote was right (`fewshot.evaluation.label_breakdown`).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _stage_log import stage_logger

OUT = Path("benchmarks/out/selection_quality")
PROXY_TASKS = ["sst5", "trec", "rte", "mrpc", "math-subject", "gsm8k-skill"]
LM_TASKS = ["trec"]
LM_METHODS = ["random", "votek", "ideal", "facility", "herding", "auto"]
LM_LIMIT = 36


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def usable_methods() -> list[str]:
    """Every registered selection method that needs no confidence function (read now)."""
    from fewshot.annotate import STRATEGIES

    return [n for n, cls in STRATEGIES.items() if not getattr(cls, "needs_confidence", False)]


def build_config(args: argparse.Namespace) -> tuple[str, Any]:
    """(name, EvalConfig) of the proxy grid or, with ``--lm``, the LM grid."""
    from fewshot.annotate import STRATEGIES
    from fewshot.evaluation import EvalConfig

    if args.lm is None:
        name = args.name or "proxy"
        tasks = _csv(args.tasks) or PROXY_TASKS
        methods = _csv(args.methods) or usable_methods()
        budgets, test_size, k, scorers = args.budgets or "18,50,100", args.test_size or 1000, 8, ["proxy"]
    else:
        name = args.name or "lm-" + args.lm.replace(":", "-").replace("/", "_")
        tasks = _csv(args.tasks) or LM_TASKS
        methods = _csv(args.methods) or [m for m in LM_METHODS if m in STRATEGIES]
        budgets, test_size, k, scorers = args.budgets or "18,100", args.test_size or 256, 4, ["proxy", "lm"]
    out = Path(args.out)
    kw: dict[str, Any] = dict(
        datasets=tasks,
        methods=methods,
        budgets=budgets,
        seeds=args.seeds,
        pool_size=3000,
        test_size=test_size,
        k=k,
        scorers=scorers,
        out=str(out / name),
        cache_dir=str(out / "cache"),
    )
    if args.lm is not None:
        kw.update(lm=args.lm, lm_options=json.loads(args.lm_options), max_tokens=512)
    limit = args.limit if args.limit is not None else (LM_LIMIT if args.lm is not None else None)
    if limit:
        kw["limit"] = limit
    return name, EvalConfig(**kw)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(args: argparse.Namespace) -> Path:
    from fewshot.evaluation import run_eval
    from fewshot.evaluation._paired import tally_methods

    name, cfg = build_config(args)
    logging.info("%s grid: %s", name, json.dumps(cfg.to_dict()))
    t, cpu = time.perf_counter(), _cpu_seconds()
    result = run_eval(cfg, progress=stage_logger())
    wall, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
    tallies = {
        scorer: [t.to_dict() for t in tally_methods([r for r in result.summary if r.scorer == scorer])]
        for scorer in cfg.scorers
    }
    data = {
        "name": name,
        "config": cfg.to_dict(),
        "summary": [r.to_dict() for r in result.summary],
        "tally": tallies,
        "datasets": {
            k: {x: v[x] for x in ("task", "labels", "pool_size", "n_scored", "majority_baseline")}
            for k, v in result.datasets.items()
        },
        "timings": result.timings,
        "cache": result.stats.to_dict(),
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "results_json": result.files.get("json"),
    }
    path = Path(args.out) / f"{name}.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    logging.info("%s: %d runs in %.0f s wall, %.0f s CPU; cache %s", name, len(result.runs), wall, cpu, data["cache"])
    return path


# ----------------------------------------------------------------------------------- report


def _pct(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{100 * x:+.{digits}f}%"


def _pts(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}"


def report(data: dict[str, Any]) -> str:
    """Markdown: one row per (task, scorer, budget, method), then the per-method tallies."""
    cfg = data["config"]
    lines = [
        f"### {data['name']}: {len(cfg['datasets'])} tasks, B {cfg['budgets']}, seeds {cfg['seeds']}, "
        f"pool {cfg['pool_size']}, k {cfg['k']}" + (f", LM {cfg['lm']}" if "lm" in cfg["scorers"] else ""),
        "",
        f"wall {data['wall_seconds'] / 60:.1f} min, CPU {data['cpu_seconds'] / 3600:.2f} h; "
        "accuracy and delta in points (%); delta = paired mean of correct_method - correct_random on the "
        "same seeds and test items, [95% bootstrap CI over seeds and items, 2,000 resamples]; "
        "labels = distinct labels chosen / label set (majority share); cells = fraction of 2B k-means "
        "cells hit (max 0.50, random ~0.39)",
        "",
        "| task | n test | scorer | B | method | accuracy | delta vs random [95% CI] | rel. gain | verdict "
        "| labels | cells |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = sorted(
        data["summary"],
        key=lambda r: (cfg_order(cfg["datasets"], r["dataset"]), r["scorer"], r["budget"], method_key(r["method"])),
    )
    for r in rows:
        labels = (
            f"{r['n_labels_chosen_mean']:.1f}/{r['n_labels_total']} ({r['majority_share_mean']:.2f})"
            if r["n_labels_total"]
            else f"{r['n_labels_chosen_mean']:.0f} answers"
        )
        delta = (
            ""
            if r["delta_vs_random"] is None
            else f"{_pts(r['delta_vs_random'])} [{_pts(r['delta_ci_low'])}, {_pts(r['delta_ci_high'])}]"
        )
        cells = "" if r["cluster_coverage_mean"] is None else f"{r['cluster_coverage_mean']:.2f}"
        scorer = r["scorer"] if r["scorer"] == "proxy" else f"lm {r['lm']}"
        lines.append(
            f"| {r['dataset']} | {r['n_test']} | {scorer} | {r['budget']} | {r['method']} | "
            f"{100 * r['accuracy_mean']:.1f} | {delta} | {_pct(r['gain_paired'])} | {r['verdict'] or ''} | "
            f"{labels} | {cells} |"
        )
    lines.append("")
    for scorer, tally in data["tally"].items():
        lines.append(f"**Per method, {scorer}** (cells = task x budget)")
        lines.append("")
        for t in tally:
            lines.append(
                f"- {t['method']}: {t['wins']} wins / {t['ties']} ties / {t['losses']} losses over {t['cells']} "
                f"cells; mean relative gain {_pct(t['mean_relative_gain'])}, mean delta {_pts(t['mean_delta'])} pts"
            )
        lines.append("")
    return "\n".join(lines)


def breakdown(results_json: Path) -> str:
    """Markdown of `label_breakdown` over one results.json (per-label numbers in %)."""
    from fewshot.evaluation import label_breakdown

    data = json.loads(results_json.read_text(encoding="utf-8"))
    rows = label_breakdown(data["runs"], data["datasets"])
    lines = [
        f"### label breakdown of {results_json}",
        "",
        "per label (in the dataset's label order): recall = accuracy on items of that gold label; "
        "answers = share of answers; selected = share in the selected sets. follows = LM answered its "
        "demonstrations' similarity-weighted vote; vote right = that vote was the gold label",
        "",
        "| task | scorer | B | method | acc | recall per label | answers per label | selected per label "
        "| follows | vote right |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(d: dict[str, float]) -> str:
        return " / ".join("-" if v != v else f"{100 * v:.0f}" for v in d.values())

    for r in sorted(rows, key=lambda r: (r.dataset, r.scorer, r.budget, method_key(r.method))):
        follows = "" if r.follows_vote is None else f"{100 * r.follows_vote:.0f}"
        right = "" if r.vote_right is None else f"{100 * r.vote_right:.0f}"
        lines.append(
            f"| {r.dataset} | {r.scorer} | {r.budget} | {r.method} | {100 * r.accuracy:.1f} | {fmt(r.recall)} | "
            f"{fmt(r.predicted)} | {fmt(r.selected)} | {follows} | {right} |"
        )
    labels = {name: info.get("labels") for name, info in data["datasets"].items()}
    lines += ["", "labels: " + "; ".join(f"{k}: {', '.join(map(str, v or []))}" for k, v in labels.items())]
    return "\n".join(lines)


def cfg_order(datasets: list[Any], name: str) -> int:
    names = [d if isinstance(d, str) else d.get("name") for d in datasets]
    return names.index(name) if name in names else len(names)


def method_key(method: str) -> tuple[int, str]:
    return (0 if method == "random" else 1, method)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lm", help="run the LM grid with this get_backend spec (e.g. llamacpp:smollm2)")
    ap.add_argument(
        "--lm-options", default="{}", help="JSON keyword arguments for get_backend, e.g. '{\"n_threads\": 2}'"
    )
    ap.add_argument("--tasks", help="comma-separated dataset presets (default: the grid's)")
    ap.add_argument("--methods", help="comma-separated selection methods (default: the grid's)")
    ap.add_argument("--budgets", help="comma-separated budgets (default 18,50,100; LM grid 18,100)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--test-size", type=int, help="test items per task (default 1000; LM grid 256)")
    ap.add_argument("--limit", type=int, help="score only the first LIMIT test items (LM grid default 36; 0: all)")
    ap.add_argument("--name", help="output name (default proxy / lm-<spec>)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--report", nargs="+", metavar="JSON", help="only format existing <name>.json files")
    ap.add_argument("--breakdown", nargs="+", metavar="RESULTS_JSON", help="only the label breakdown of results.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.breakdown:
        for path in args.breakdown:
            sys.stdout.write(breakdown(Path(path)) + "\n\n")
        return
    paths = [Path(p) for p in args.report] if args.report else [run(args)]
    for path in paths:
        text = report(json.loads(path.read_text(encoding="utf-8")))
        path.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
