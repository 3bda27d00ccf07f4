"""Run evaluation configs (the vote-k/IDEAL protocol) and print their results as markdown.

Usage (from the repository root):

    python benchmarks/bench_eval.py run benchmarks/eval_configs/proxy_protocol.yaml [...more.yaml]
    python benchmarks/bench_eval.py report benchmarks/out/eval/proxy/results.json [...more.json]

``run`` calls `fewshot.evaluation.run_eval` on each config in turn (resumable: rerunning reuses the
cached embeddings, selections and LM answers under the config's ``cache_dir``), logging progress
every few percent, then prints the report. ``report`` only formats existing ``results.json`` files:
per dataset and scorer, accuracy mean ± std over seeds per method and budget, the relative gain
over random, and the label diversity of the chosen sets (distinct labels / label-set size, and the
majority label's share), plus selection time and wall time per dataset.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from _stage_log import stage_logger


def run(configs: list[str]) -> list[Path]:
    from fewshot.evaluation import EvalConfig, run_eval

    paths = []
    for path in configs:
        cfg = EvalConfig.from_yaml(path)
        t = time.perf_counter()
        result = run_eval(cfg, progress=stage_logger())
        logging.info(
            "%s: %d runs in %.0f s; cache %s", path, len(result.runs), time.perf_counter() - t, result.stats.to_dict()
        )
        paths.append(Path(result.files["json"]))
    return paths


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}%"


def report(paths: list[Path]) -> str:
    lines = []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        cfg = data["config"]
        lines.append(f"### {path}\n")
        limit = "" if cfg["limit"] is None else f" (limit {cfg['limit']})"
        lines.append(
            f"seeds {cfg['seeds']}, pool {cfg['pool_size']}, test {cfg['test_size']}"
            f"{limit}, k {cfg['k']}, max_tokens {cfg['max_tokens']}; "
            f"total {data['seconds']:.0f} s\n"
        )
        panels: dict[tuple, list[dict]] = {}
        for row in data["summary"]:
            panels.setdefault((row["dataset"], row["scorer"], row["retriever"], row["lm"]), []).append(row)
        for (dataset, scorer, retriever, lm), rows in panels.items():
            info = data["datasets"][dataset]
            what = "knn_vote_proxy (LM-free)" if scorer == "proxy" else f"LM {lm}"
            lines.append(
                f"**{dataset}** - {what}, retriever {retriever}, "
                f"pool {info['pool_size']}, {info['n_scored']} test items "
                f"(majority label {info.get('majority_baseline', float('nan')):.3f})\n"
            )
            lines.append(
                "| method | B | accuracy (mean ± std) | vs random | labels chosen | majority share | select s |"
            )
            lines.append("|---|---|---|---|---|---|---|")
            for r in rows:
                chosen = (
                    f"{r['n_labels_chosen_mean']:.1f}/{r['n_labels_total']}"
                    if r["n_labels_total"]
                    else f"{r['n_labels_chosen_mean']:.0f} distinct answers"
                )
                lines.append(
                    f"| {r['method']} | {r['budget']} | {r['accuracy_mean']:.3f} ± "
                    f"{r['accuracy_std']:.3f} | {_pct(r['gain_vs_random'])} | "
                    f"{chosen} | "
                    f"{r['majority_share_mean']:.2f} | {r['selection_seconds_mean']:.2f} |"
                )
            lines.append("")
        for dataset, t in data["timings"].items():
            lines.append(f"- {dataset} timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
        lines.append(f"- cache: {data['cache']}\n")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["run", "report"])
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    paths = run(args.paths) if args.command == "run" else [Path(p) for p in args.paths]
    sys.stdout.write(report(paths) + "\n")


if __name__ == "__main__":
    main()
