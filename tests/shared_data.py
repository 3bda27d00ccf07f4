"""Where the shared datasets are, and how tests read slices of them (one copy for every test folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["REPO", "shared_data_dir", "read_jsonl", "write_jsonl"]

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$FEWSHOT_SHARED_DATA``, else ``<repo>/../shared/data``."""
    env = os.environ.get("FEWSHOT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    """The first ``limit`` records of a JSONL file (all when None)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` as a JSONL file (e.g. a slice, or a file of edits) and return its path."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
