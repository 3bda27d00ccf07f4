"""The main job on the bundled sample: ingest -> embed -> budget -> select -> labels -> index -> prompt.

The bundled data is a seeded 2,000-row sample of SST-5 train (movie-review sentences with five
sentiment labels) and 50 test sentences. The pool is ingested *without* its labels; the labels of
the selected items are then taken from the sample file, standing in for human annotators.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fewshot.service.workspace import Workspace

__all__ = ["run_demo", "DemoResult", "sample_path", "queries_path"]

Report = Callable[[str, str], None]


def sample_path() -> Path:
    return Path(str(resources.files("fewshot") / "data" / "sst5_sample.jsonl"))


def queries_path() -> Path:
    return Path(str(resources.files("fewshot") / "data" / "sst5_queries.jsonl"))


@dataclass
class DemoResult:
    pool: str
    recommended_budget: int
    budget: int
    round_number: int
    index_version: int
    prompt_id: str
    prompt_text: str
    steps: list[tuple[str, str]] = field(default_factory=list)


def run_demo(
    ws: Workspace,
    *,
    pool: str = "sst5-demo",
    budget: int | None = None,
    method: str = "votek",
    query_index: int = 0,
    plot: str | Path | None = None,
    report: Report | None = None,
    progress: Callable[[str], Callable[[int, int], None] | None] | None = None,
) -> DemoResult:
    """Run the whole pipeline on the bundled sample, from scratch (the pool is recreated).

    ``report(step, message)`` is called after each step; ``progress(step)`` may return a
    ``progress(done, total)`` callback for long steps.
    """
    steps: list[tuple[str, str]] = []

    def say(step: str, message: str) -> None:
        steps.append((step, message))
        if report is not None:
            report(step, message)

    def bar(step: str):
        return progress(step) if progress is not None else None

    if any(p.name == pool for p in ws.list_pools()):
        ws.delete_pool(pool)
    rep = ws.ingest(pool, sample_path())
    say(
        "ingest",
        f"{rep.added} movie-review sentences from the bundled SST-5 sample into pool {pool!r}, "
        f"unlabeled ({rep.duplicate_count} duplicate texts skipped)",
    )
    emb = ws.embed(pool, progress=bar("embed"))
    say("embed", f"{emb.embedded} texts embedded with {emb.model} ({emb.dim}-d) in {emb.seconds:.1f}s")

    curve = ws.budget(pool, budgets=[10, 20, 50, 100, 200, 400], method=method, plot=plot)
    rows = ", ".join(f"{r['budget']}: {r['coverage']:.2f}" for r in curve.to_rows())
    say(
        "budget",
        f"coverage by budget ({rows}); recommended budget {curve.recommended}"
        + (f"; plot written to {plot}" if plot else ""),
    )
    chosen_budget = budget or curve.recommended

    rnd = ws.select(pool, budget=chosen_budget, method=method, progress=bar("select"))
    first = "; ".join(f"{i.text[:40]!r}" for i in rnd.items[:3])
    say("select", f"round {rnd.number}: {len(rnd.items)} items chosen with {method} (first: {first} ...)")

    gold = {r["id"]: r["label_text"] for r in _read_jsonl(sample_path())}
    labels = ws.apply_labels(pool, {i.external_id: gold[i.external_id] for i in rnd.items})
    counts: dict[str, int] = {}
    for i in rnd.items:
        counts[gold[i.external_id]] = counts.get(gold[i.external_id], 0) + 1
    say(
        "label",
        f"{labels.applied} labels taken from the sample (standing in for annotators): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
    )

    idx = ws.build_index(pool)
    say("index", f"index version {idx.version} over {idx.count} labeled items")

    queries = _read_jsonl(queries_path())
    q = queries[query_index % len(queries)]
    prompt, prompt_id = ws.build_prompt(pool, q["text"], k=8, max_tokens=512, template="classification")
    say(
        "prompt",
        f"prompt {prompt_id} for a test sentence (gold: {q['label_text']}): {len(prompt.demos)} "
        f"demonstrations, {prompt.n_tokens} tokens, most similar last",
    )
    return DemoResult(
        pool=pool,
        recommended_budget=curve.recommended,
        budget=chosen_budget,
        round_number=rnd.number,
        index_version=idx.version,
        prompt_id=prompt_id,
        prompt_text=prompt.text,
        steps=steps,
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
