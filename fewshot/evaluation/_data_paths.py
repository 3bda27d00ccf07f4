"""Where the evaluation presets find the shared data folder (``$FEWSHOT_SHARED_DATA``, else
``../shared/data`` beside the working directory or a source checkout)."""

from __future__ import annotations

import os
from pathlib import Path

from fewshot.exceptions import NotFoundError

__all__ = ["SHARED_DATA_ENV", "shared_data_candidates", "shared_data_dir"]

SHARED_DATA_ENV = "FEWSHOT_SHARED_DATA"


def _checkout_root() -> Path | None:
    """The repository root when fewshot runs from a source checkout (not from site-packages)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "fewshot").is_dir() else None


def shared_data_candidates() -> list[Path]:
    """Where `shared_data_dir` looks, in order.

    ``$FEWSHOT_SHARED_DATA`` alone when it is set (an explicit setting never falls back);
    otherwise ``../shared/data`` relative to the current directory, then relative to the
    repository root when fewshot runs from a source checkout.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return [Path(env).expanduser()]
    found: list[Path] = []
    roots = [Path.cwd(), _checkout_root()]
    for root in roots:
        if root is None:
            continue
        path = (root.parent / "shared" / "data").resolve()
        if path not in found:
            found.append(path)
    return found


def shared_data_dir() -> Path:
    """The shared data folder the presets read: the first existing of `shared_data_candidates`.

    Raises
    ------
    NotFoundError
        None of them is a folder; the message names ``$FEWSHOT_SHARED_DATA`` and every path tried.
    """
    tried = shared_data_candidates()
    for path in tried:
        if path.is_dir():
            return path
    env = os.environ.get(SHARED_DATA_ENV)
    how = (
        f"${SHARED_DATA_ENV}={env} is not a folder"
        if env
        else f"set ${SHARED_DATA_ENV} to the folder holding sst5/, trec/, rte/, mrpc/, gsm8k/"
    )
    raise NotFoundError(
        f"shared data folder not found ({how}); tried: {', '.join(str(p) for p in tried)}. "
        "Alternatively set data_dir in the eval config, or give a dataset file instead of a preset name"
    )
