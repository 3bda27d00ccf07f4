"""Writers for exports: JSONL and CSV (atomic: a temporary file renamed into place)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..exceptions import InvalidInputError

__all__ = ["write_records", "write_json_atomic", "write_format_for", "WRITE_FORMATS"]

WRITE_FORMATS = ("jsonl", "csv")
_WRITE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def write_format_for(path: str | Path, fmt: str | None = None, *, formats: Iterable[str] = WRITE_FORMATS) -> str:
    """The export format: ``fmt`` when given (checked against ``formats``), else from the file's
    suffix (``.csv`` -> csv, ``.jsonl``/``.ndjson`` -> jsonl), else jsonl.

    >>> write_format_for("out.csv"), write_format_for("out.txt"), write_format_for("x.csv", "jsonl")
    ('csv', 'jsonl', 'jsonl')
    """
    allowed = tuple(formats)
    if fmt is not None:
        if fmt not in allowed:
            raise InvalidInputError(f"unknown export format {fmt!r}; expected one of {', '.join(allowed)}")
        return fmt
    return _WRITE_SUFFIXES.get(Path(path).suffix.lower(), "jsonl")


def write_records(records: Iterable[dict[str, Any]], path: str | Path, fmt: str) -> int:
    """Write ``records`` to ``path`` in ``fmt``; returns the number written."""
    if fmt not in WRITE_FORMATS:
        raise InvalidInputError(f"unknown export format {fmt!r}; expected one of {', '.join(WRITE_FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            if fmt == "jsonl":
                for rec in records:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    count += 1
            else:
                rows = list(records)
                columns: list[str] = []
                for rec in rows:
                    columns.extend(k for k in rec if k not in columns)
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                for rec in rows:
                    writer.writerow(
                        {
                            k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                            for k, v in rec.items()
                        }
                    )
                    count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_json_atomic(data: Any, path: str | Path) -> None:
    """Write one JSON document atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
