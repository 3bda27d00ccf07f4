"""A trained UDR model on disk, and the encoder that plugs it into `DenseRetriever`.

Layout of a saved model directory: a sentence-transformers model (``model.save``) plus
``udr.json`` with the task instructions, the base model, training parameters and metrics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.embed import SentenceEncoder
from fewshot.exceptions import InvalidInputError, NotFoundError

__all__ = ["UDRModel", "UDR_META", "load_udr_model"]

UDR_META = "udr.json"
FORMAT_VERSION = 1


class UDRModel:
    """A trained UDR bi-encoder with its per-task instructions.

    Parameters
    ----------
    model : SentenceTransformer (without a Normalize layer)
    instructions : mapping task name -> instruction prefix
    name : str
        Identifies the vector space in index manifests (e.g. ``"udr:sst5-mix:v2"``).
    meta : dict, optional
        Anything else recorded in ``udr.json``.
    """

    def __init__(
        self, model: Any, instructions: Mapping[str, str], *, name: str = "udr", meta: Mapping[str, Any] | None = None
    ) -> None:
        self.model = model
        self.instructions = dict(instructions)
        self.name = name
        self.meta = dict(meta or {})

    def instruction_for(self, task: str | None) -> str:
        """The instruction of ``task``; ``None`` or an unknown task with a single-task model gives
        that task's instruction, otherwise an error naming the known tasks."""
        if task is not None and task in self.instructions:
            return self.instructions[task]
        if task is None and len(self.instructions) == 1:
            return next(iter(self.instructions.values()))
        if task is None and not self.instructions:
            return ""
        if task is None:
            raise InvalidInputError(
                f"UDR model {self.name!r} was trained on several tasks "
                f"{sorted(self.instructions)}; say which one's instruction to use (task=)"
            )
        raise InvalidInputError(
            f"UDR model {self.name!r} has no task {task!r}; known tasks: {sorted(self.instructions)}"
        )

    def encoder(
        self,
        task: str | None = None,
        *,
        instruction: str | None = None,
        batch_size: int = 64,
        n_threads: int | None = None,
    ) -> SentenceEncoder:
        """An `Encoder` for one task: its instruction prefixed, vectors not normalised (use
        ``DenseRetriever(..., metric="ip")``)."""
        instr = self.instruction_for(task) if instruction is None else instruction
        return SentenceEncoder(
            self.model,
            name=self.name,
            instruction=instr or None,
            batch_size=batch_size,
            normalize=False,
            n_threads=n_threads,
        )

    def retriever(self, corpus: Any, task: str | None = None, **kw: Any) -> Any:
        """A `DenseRetriever` over ``corpus`` with exact inner-product search."""
        from fewshot.retrieve._dense import DenseRetriever

        return DenseRetriever(corpus, self.encoder(task), kind="flat", metric="ip", **kw)

    def encode(self, texts: Sequence[str], task: str | None = None) -> np.ndarray:
        return self.encoder(task).encode(texts)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(str(directory))
        meta = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "instructions": self.instructions,
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "instructions")},
        }
        (directory / UDR_META).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return directory


def load_udr_model(
    directory: str | os.PathLike[str], *, name: str | None = None, device: str | None = None
) -> UDRModel:
    """Load a model written by `UDRModel.save`."""
    from fewshot.embed import load_sentence_transformer

    directory = Path(directory)
    meta_path = directory / UDR_META
    if not meta_path.is_file():
        raise NotFoundError(f"{directory} is not a UDR model (no {UDR_META})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise InvalidInputError(
            f"{meta_path}: format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    model = load_sentence_transformer(str(directory), device=device)
    return UDRModel(model, meta.get("instructions") or {}, name=name or meta.get("name") or "udr", meta=meta)
