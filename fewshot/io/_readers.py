"""Streaming readers: each yields ``(line_number, record_dict)`` without loading the file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..exceptions import IngestError

__all__ = ["detect_format", "iter_records", "FORMATS", "READ_FORMATS"]

#: Formats records are read from (ingest, label and skill files).
READ_FORMATS = FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", path=str(path))
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise IngestError(
            f"cannot tell the format from suffix {suffix!r}; name the format ({', '.join(FORMATS)})", path=str(path)
        )
    return _SUFFIXES[suffix]


def iter_records(path: str | Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, record)`` pairs; line numbers are 1-based (CSV: the physical line, header = 1;
    Parquet: the row number). Raises :class:`IngestError` naming the file and line on bad input and
    on an empty file."""
    path = Path(path)
    if not path.exists():
        raise IngestError("file not found", path=str(path))
    fmt = detect_format(path, fmt)
    reader = {"jsonl": _iter_jsonl, "csv": _iter_csv, "parquet": _iter_parquet}[fmt]
    empty = True
    for item in reader(path):
        empty = False
        yield item
    if empty:
        raise IngestError("file is empty (no records)", path=str(path))


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
                    path=str(path),
                    line=line_no,
                ) from None
            if line_no == 1:
                text = text.lstrip("\ufeff")
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"malformed JSON ({exc.msg} at column {exc.colno})", path=str(path), line=line_no
                ) from None
            except RecursionError:
                raise IngestError("JSON nested too deeply", path=str(path), line=line_no) from None
            if not isinstance(record, dict):
                raise IngestError(f"expected a JSON object, got {type(record).__name__}", path=str(path), line=line_no)
            yield line_no, record


def _iter_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, "rb") as raw:
        wrapper = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        # strict: an unterminated quote is an error at the end of the file instead of a field that
        # silently swallows every following row
        reader = csv.DictReader(wrapper, strict=True)
        try:
            header = reader.fieldnames
        except UnicodeDecodeError:
            raise IngestError("not valid UTF-8", path=str(path), line=1) from None
        except csv.Error as exc:
            raise IngestError(f"malformed CSV header ({exc})", path=str(path), line=1) from None
        if not header:
            return
        while True:
            first_line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise IngestError("not valid UTF-8", path=str(path), line=reader.line_num + 1) from None
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    raise IngestError(
                        "unterminated quoted field (a quote opened here is never closed)",
                        path=str(path),
                        line=first_line,
                    ) from None
                raise IngestError(f"malformed CSV ({exc})", path=str(path), line=reader.line_num) from None
            if None in row:
                raise IngestError(
                    f"row has {len(header) + len(row[None])} columns, header has {len(header)}",
                    path=str(path),
                    line=reader.line_num,
                )
            if any(v is None for v in row.values()):
                missing = [k for k, v in row.items() if v is None]
                raise IngestError(
                    f"row is missing columns {missing}", path=str(path), line=reader.line_num, field=missing[0]
                )
            yield reader.line_num, row


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid with a descriptive message
        raise IngestError(f"not a readable Parquet file ({exc})", path=str(path)) from None
    row = 0
    for batch in pf.iter_batches(batch_size=8192):
        for record in batch.to_pylist():
            row += 1
            yield row, record
