"""Cut the test-data slices in ``tests/data`` from the full shared datasets, and write SOURCES.md.

    python tests/data/make_slices.py            # source: $FEWSHOT_SHARED_DATA, else ../shared/data
    python tests/data/make_slices.py --source DIR
    python tests/data/make_slices.py --check    # compare tests/data with a fresh cut, write nothing

Each slice holds exactly the rows the tests read (the largest slice any test takes of that file):
the first N lines of the source file, byte for byte, except MATH, a seeded sample (see
``math_skill_sample`` in ``tests/shared_data.py``). Tests read ``tests/data`` by default
(``tests/shared_data.py``); change ``SLICES`` here and re-run when a test needs more rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from shared_data import math_skill_sample  # noqa: E402

# source attribution, copied from ../shared/data/SOURCES.md
ORIGIN = {
    "sst5": (
        "yaolu/ordered-prompt @ e93f70d0a5f6a8cfcadf6f2917c26eed265cd0be, data/sst5/*.jsonl",
        "repo MIT; underlying dataset: SST (no explicit license)",
    ),
    "rte": (
        "yaolu/ordered-prompt @ e93f70d0a5f6a8cfcadf6f2917c26eed265cd0be, data/rte/*.jsonl",
        "repo MIT; underlying dataset: RTE (GLUE)",
    ),
    "trec": (
        "yaolu/ordered-prompt @ e93f70d0a5f6a8cfcadf6f2917c26eed265cd0be, data/trec/*.jsonl",
        "repo MIT; underlying dataset: TREC (public)",
    ),
    "gsm8k": (
        "openai/grade-school-math @ 3101c7d5072418e28b9008a6636bde82a006892c, "
        "grade_school_math/data/{train,test}.jsonl; field `skills`: princeton-pli/AdaptMI @ "
        "62dca3070a3911341133bf99264d381f847ae153, skill_identifier/skill_retrieval/GSM8K/{train,test}/*.json "
        "(labels by GPT-4o, AdaptMI paper)",
        "MIT; skills Apache-2.0",
    ),
    "math": (
        "princeton-pli/AdaptMI @ 62dca30, evaluation/data/math/train_level{1..5,?}.json "
        "(7,500 MATH train problems; ids relabelled train/...) + skill_retrieval/MATH/*/train",
        "Apache-2.0 repo; MATH is MIT",
    ),
    "mrpc": (
        "galsang/ABCNN @ f95b9a171f1d41cb8012af2f69d5d845f5703463, "
        "MSRP_Corpus/msr_paraphrase_train_backup.txt (canonical MSRP train, 4,076 pairs)",
        "MSR Paraphrase Corpus license (MS Research)",
    ),
}

MATH_SAMPLE = {"n": 300, "top": 8, "seed": 0}

# (dataset, split) -> (rows, the tests that read the most of it)
SLICES: dict[tuple[str, str], tuple[int, str]] = {
    ("sst5", "train"): (
        1200,
        "annotate sst5_vectors (votek vs the research loop on 1,200, k=150); "
        "test_cli kill -9 (600); retrieve (500); prompt, store (300); evaluation (260)",
    ),
    ("sst5", "test"): (40, "evaluation mini_data (40); retrieve sst5_test_rows (20)"),
    ("rte", "train"): (300, "annotate rte_vectors (300); evaluation mini_data (120); test_cli (40)"),
    ("rte", "dev"): (30, "evaluation mini_data (30)"),
    ("trec", "train"): (120, "store test_budget_curve_and_plot (120); api, store, udr (25-50)"),
    ("mrpc", "train"): (30, "store test_bad_line_rolls_back_the_whole_file (30)"),
    ("gsm8k", "train"): (300, "retrieve gsm8k_rows (300); adaptive gsm_train, prompt (200); api (80); evaluation (40)"),
    ("gsm8k", "test"): (40, "adaptive gsm_test (40); evaluation mini_data (8)"),
    ("math", "train"): (MATH_SAMPLE["n"], "adaptive math_slice (300: 240 pool + 60 held out; slow test)"),
}


def default_source() -> Path:
    env = os.environ.get("FEWSHOT_SHARED_DATA")
    return Path(env) if env else HERE.parents[2] / "shared" / "data"


def cut(source: Path) -> dict[str, bytes]:
    """``{relative path: content}`` of every slice and of SOURCES.md, cut from ``source``."""
    out: dict[str, bytes] = {}
    for (name, split), (n, _) in SLICES.items():
        path = source / name / f"{split}.jsonl"
        lines = path.read_bytes().splitlines(keepends=True)
        if name == "math":
            rows = [json.loads(line) for line in lines]
            at = {id(r): i for i, r in enumerate(rows)}
            lines = [lines[at[id(r)]] for r in math_skill_sample(rows, **MATH_SAMPLE)]
        else:
            lines = lines[:n]
        if len(lines) != n:
            raise SystemExit(f"{path}: {len(lines)} rows, {n} wanted")
        out[f"{name}/{split}.jsonl"] = b"".join(lines)
    out["SOURCES.md"] = sources_md(out).encode()
    return out


def sources_md(files: dict[str, bytes]) -> str:
    head = [
        "# Test data: small real slices of ../shared/data",
        "",
        "Tests read these files by default (`tests/shared_data.py`), so every clone runs the same tests",
        "on the same rows; `FEWSHOT_SHARED_DATA=<dir>` points them at another folder laid out the same way.",
        "Cut by `tests/data/make_slices.py` (re-run it after changing its `SLICES`; `--check` compares)",
        "from `../shared/data` (attribution below copied from `../shared/data/SOURCES.md`). Each slice holds",
        "exactly the rows the tests read: the first N lines of the source file, byte for byte, except MATH.",
        "",
        "| slice | rows | bytes | how it was cut | source repo @ commit, path | license (as stated in repo) | read by |",
        "|---|---|---|---|---|---|---|",
    ]
    body = []
    for (name, split), (n, used) in SLICES.items():
        rel = f"{name}/{split}.jsonl"
        if name == "math":
            how = (
                f"seeded sample: rows with skills whose first skill is one of the {MATH_SAMPLE['top']} most "
                f"frequent skills, `random.Random({MATH_SAMPLE['seed']}).shuffle`, first {n} "
                f"(`math_skill_sample`), in that order"
            )
        else:
            how = f"first {n} rows of `{rel}`"
        src, lic = ORIGIN[name]
        body.append(f"| `{rel}` | {n} | {len(files[rel]):,} | {how} | {src} | {lic} | {used} |")
    total = sum(len(v) for v in files.values())
    return "\n".join(head + body + ["", f"Total of the slices: {total:,} bytes.", ""])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=None, help="default: $FEWSHOT_SHARED_DATA, else ../shared/data")
    ap.add_argument("--check", action="store_true", help="compare tests/data with a fresh cut; write nothing")
    args = ap.parse_args()
    source = args.source or default_source()
    files = cut(source)
    stale = [rel for rel, data in files.items() if not (HERE / rel).is_file() or (HERE / rel).read_bytes() != data]
    if args.check:
        print("tests/data is up to date" if not stale else f"stale: {', '.join(stale)}")
        return 1 if stale else 0
    for rel in stale:
        (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
        (HERE / rel).write_bytes(files[rel])
    for rel, data in files.items():
        rows = data.count(b"\n") if rel.endswith(".jsonl") else ""
        print(f"{rel:22} {rows:>5} {len(data):>9,} bytes{'  (written)' if rel in stale else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
