"""Versioned artifact folders: atomic writes and manifest checks.

An artifact (a dense index, a BM25 index, a retriever) is a directory with a ``manifest.json``
that names its ``kind`` and ``format_version``. Writers fill a temporary sibling directory and
move it into place with `os.replace`, so a reader sees either the old folder or the new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fewshot.exceptions import InvalidInputError, NotFoundError

__all__ = ["atomic_dir", "write_manifest", "read_manifest", "utc_now"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string (seconds precision)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces ``target`` when the block succeeds.

    If the block raises, the temporary directory is removed and ``target`` is untouched.
    If ``target`` does not exist, the final step is a single atomic `os.replace`. If it
    exists, the old folder is first renamed to a hidden sibling, the new one renamed into
    place, and the old one deleted; should the second rename fail, the old folder is put
    back. (POSIX cannot rename onto a non-empty directory, hence the two steps.)
    """
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    tmp = parent / f".{target.name}.tmp-{tag}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not target.exists():
        os.replace(tmp, target)
        return
    old = parent / f".{target.name}.old-{tag}"
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` (sorted keys, indented) into ``directory``."""
    text = json.dumps(dict(manifest), indent=2, sort_keys=True)
    (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(directory: str | os.PathLike[str], *, kind: str, format_version: int) -> dict[str, Any]:
    """Read and check ``directory/manifest.json``.

    Raises
    ------
    NotFoundError
        The directory or its manifest does not exist.
    InvalidInputError
        The manifest is not JSON, is for another ``kind``, or has another ``format_version``.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"no {kind} artifact at {directory}: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise InvalidInputError(f"{path}: expected a JSON object")
    found_kind = manifest.get("artifact")
    if found_kind != kind:
        raise InvalidInputError(f"{path}: holds a {found_kind!r} artifact, expected {kind!r}")
    version = manifest.get("format_version")
    if version != format_version:
        raise InvalidInputError(
            f"{path}: format_version {version!r} is not supported "
            f"(this version of fewshot reads format_version {format_version})"
        )
    return manifest
