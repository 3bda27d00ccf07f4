"""Text encoders: the `Encoder` protocol and a sentence-transformers implementation.

Any object with ``name``, ``dim`` and ``encode(texts) -> (n, dim) float32`` plugs into
`DenseRetriever`, e.g. a trained UDR bi-encoder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fewshot.config import DEFAULT_EMBEDDING_MODEL as DEFAULT_MODEL  # the bundled all-MiniLM-L6-v2
from fewshot.embed._loading import load_sentence_transformer, resolve_model
from fewshot.exceptions import InvalidInputError

__all__ = ["Encoder", "SentenceEncoder", "DEFAULT_MODEL", "bundled_model_path"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to vectors.

    Attributes
    ----------
    name : str
        Identifies the vector space (model and instruction); stored in index manifests.
    dim : int
        Output dimension.
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape (len(texts), dim)."""
        ...


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads inside the block (None: leave as is)."""
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def bundled_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 sentence-transformers model."""
    return Path(resolve_model(DEFAULT_MODEL))


class SentenceEncoder:
    """A thin wrapper around a `sentence_transformers.SentenceTransformer`.

    Parameters
    ----------
    model : SentenceTransformer
        A loaded model.
    name : str
        Name recorded in manifests (default: the model's path/name as loaded).
    instruction : str, optional
        Prefix added to every text before encoding (UDR-style task instruction, e.g.
        ``"Sentiment of the sentence: "``). Part of ``name``, since it changes the vectors.
    batch_size : int
        Texts per forward pass.
    normalize : bool
        L2-normalise the output (cosine geometry).
    progress : callable(done, total), optional
        Called after each chunk of `encode`.
    n_threads : int, optional
        Torch intra-op threads while encoding (set and restored around each call; torch's
        setting is process-wide, so leave None in multi-threaded servers and configure
        torch once instead). On a small, busy machine one thread is far steadier for
        single short queries: measured on 2 shared cores, p50 21 ms with 1 thread against
        90-225 ms with 2.

    Use `from_pretrained` to load from a local path or the bundled default; nothing is
    ever downloaded.
    """

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        instruction: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        progress: Progress | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.model = model
        self.n_threads = n_threads
        self.instruction = instruction or None
        self.batch_size = batch_size
        self.normalize = normalize
        self.progress = progress
        self.model_name = name
        self.name = name if self.instruction is None else f"{name}|instruction={self.instruction}"
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        instruction: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        progress: Progress | None = None,
        n_threads: int | None = None,
    ) -> SentenceEncoder:
        """Load a sentence-transformers model from local files only.

        ``None``, ``"all-MiniLM-L6-v2"`` or ``"sentence-transformers/all-MiniLM-L6-v2"``
        load the bundled model. Other names must be a local directory or already be in the
        Hugging Face cache; otherwise `NotFoundError`.
        """
        name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
        model = load_sentence_transformer(name, device=device)
        return cls(
            model,
            name=name,
            instruction=instruction,
            batch_size=batch_size,
            normalize=normalize,
            progress=progress,
            n_threads=n_threads,
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape (len(texts), dim)."""
        if isinstance(texts, str):
            raise InvalidInputError("encode() takes a sequence of texts, not one str")
        texts = list(texts)
        if self.instruction is not None:
            texts = [self.instruction + t for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with _torch_threads(self.n_threads):
            # chunks only so that progress can be reported; the model batches inside each
            chunk = max(self.batch_size * 16, 1)
            for start in range(0, len(texts), chunk):
                part = texts[start : start + chunk]
                out[start : start + len(part)] = self.model.encode(
                    part,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=self.normalize,
                )
                if self.progress is not None:
                    self.progress(start + len(part), len(texts))
        return out

    def __repr__(self) -> str:
        return f"SentenceEncoder(name={self.name!r}, dim={self.dim})"
