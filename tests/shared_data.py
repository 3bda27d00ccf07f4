"""Where the test datasets are, and how tests read slices of them (one copy for every test folder).

Tests read the small real slices shipped in ``tests/data`` (cut from ``../shared/data`` by
``tests/data/make_slices.py``, provenance in ``tests/data/SOURCES.md``), so every clone runs the
same tests on the same rows, with or without ``../shared``. Setting ``$FEWSHOT_SHARED_DATA``
explicitly points the tests at another folder laid out the same way (e.g. the full shared data);
tests read the first rows of each file, so the first rows of the full files are the slices.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

__all__ = [
    "REPO",
    "TEST_DATA",
    "FULL_SHARED_DATA",
    "shared_data_dir",
    "uses_shipped_slices",
    "read_jsonl",
    "write_jsonl",
    "math_skill_sample",
]

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
FULL_SHARED_DATA = REPO.parent / "shared" / "data"  # the benchmarks' data; the source of the slices
ENV = "FEWSHOT_SHARED_DATA"


def shared_data_dir() -> Path:
    """``$FEWSHOT_SHARED_DATA`` when set, else the shipped slices in ``tests/data``."""
    env = os.environ.get(ENV)
    return Path(env) if env else TEST_DATA


def uses_shipped_slices(path: Path | None = None) -> bool:
    """Whether ``path`` (default `shared_data_dir`) is the shipped ``tests/data`` folder."""
    return Path(path or shared_data_dir()).resolve() == TEST_DATA.resolve()


def _hint() -> str:
    if os.environ.get(ENV):
        return f"${ENV}={os.environ[ENV]} was set explicitly; unset it to use the slices in {TEST_DATA}"
    return f"the slices in {TEST_DATA} are cut by tests/data/make_slices.py"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    """The first ``limit`` records of a JSONL file (all when None).

    A missing file, or one with fewer than ``limit`` records, is an error (never a silent skip or
    a smaller slice): enlarge the slice in ``tests/data/make_slices.py`` instead."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"test data file missing: {path} ({_hint()})")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    if limit is not None and len(rows) < limit:
        raise ValueError(f"{path} has {len(rows)} records, the test reads {limit} ({_hint()})")
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` as a JSONL file (e.g. a slice, or a file of edits) and return its path."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def math_skill_sample(rows: list[dict], n: int = 300, top: int = 8, seed: int = 0) -> list[dict]:
    """``n`` seeded MATH problems whose first skill is one of the ``top`` most frequent skills
    (counted over every skill of every row with skills), in ``random.Random(seed)`` shuffled order.

    Applied to the full ``math/train.jsonl`` by ``tests/data/make_slices.py`` (the shipped
    ``math/train.jsonl`` slice is its output, in order) and by the ``math_slice`` fixture when
    ``$FEWSHOT_SHARED_DATA`` names the full data."""
    rows = [r for r in rows if r.get("skills")]
    keep = {s for s, _ in Counter(s for r in rows for s in r["skills"]).most_common(top)}
    rows = [r for r in rows if r["skills"][0] in keep]
    random.Random(seed).shuffle(rows)
    return rows[:n]
