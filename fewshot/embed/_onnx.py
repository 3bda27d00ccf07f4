"""`OnnxSentenceEncoder`: the same sentence-transformers model run by ONNX Runtime, for queries.

A query is one short text: PyTorch spends more time dispatching its ~100 operators than computing
them. ONNX Runtime runs the same weights through fused kernels and is about 2-3x faster per
query on a CPU core (``benchmarks/bench_api.py`` prints both), while giving the same vectors:
the export is checked against the PyTorch model on probe texts when it is loaded, and refused
(`onnx_sentence_encoder` returns None, the caller keeps PyTorch) when any component differs by
more than ``tolerance`` (default 1e-4; measured ~3e-7 for all-MiniLM-L6-v2).

Only models made of a transformer, a pooling layer (mean, CLS or max) and optionally a
normalisation are exported; anything else stays on PyTorch. The exported file is cached under
``cache_dir`` by a key of the model's identity and the library versions, so a server exports once.
``onnxruntime`` and ``onnx`` are an optional extra (``fewshot[onnx]``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.hashing import content_hash

__all__ = ["OnnxSentenceEncoder", "onnx_sentence_encoder", "onnx_available", "TOLERANCE"]

logger = logging.getLogger(__name__)

#: Largest absolute difference allowed between a vector from ONNX Runtime and from PyTorch.
TOLERANCE = 1e-4
_PROBES = (
    "A short query.",
    "the movie was a wonderful, heart-warming surprise from start to finish, and I would see it again",
    "What is the capital of France?",
)
_POOLING = ("mean", "cls", "max")
_export_lock = threading.Lock()


def onnx_available() -> bool:
    """Whether ONNX Runtime and the exporter's ``onnx`` package are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def _pipeline(model: Any) -> tuple[Any, str, bool] | None:
    """``(transformer module, pooling mode, normalise)`` of a supported sentence-transformers
    model, else None."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if len(modules) not in (2, 3) or kinds[0] != "Transformer" or kinds[1] != "Pooling":
        return None
    if len(modules) == 3 and kinds[2] != "Normalize":
        return None
    mode = getattr(modules[1], "pooling_mode", None)
    if mode not in _POOLING or getattr(modules[0], "model", None) is None:
        return None
    return modules[0], str(mode), len(modules) == 3


class OnnxSentenceEncoder:
    """An `Encoder` running a sentence-transformers model's transformer in ONNX Runtime, with the
    model's own tokenisation (``model.preprocess``) and its pooling done in numpy.

    ``encode(texts) -> (len(texts), dim) float32``; rows L2-normalised when ``normalize`` (or when
    the model ends with a normalisation). Thread-safe: ONNX Runtime sessions may run concurrently.
    Build it with `onnx_sentence_encoder`, which checks it against PyTorch first.
    """

    def __init__(
        self,
        model: Any,
        path: Path,
        *,
        name: str,
        pooling: str,
        normalize: bool,
        n_threads: int | None = 1,
    ) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(n_threads or 0)  # 0: ONNX Runtime's default (all cores)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.model, self.path, self.name, self.pooling, self.normalize = model, path, name, pooling, normalize
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(getter())

    def _features(self, texts: list[str]) -> dict[str, np.ndarray]:
        features = self.model.preprocess(texts)
        return {n: features[n].numpy().astype(np.int64, copy=False) for n in self.input_names}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; float32 of shape ``(len(texts), dim)``."""
        if isinstance(texts, str):
            raise InvalidInputError("encode() takes a sequence of texts, not one str")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        features = self._features(texts)
        states = self.session.run(None, features)[0]  # (n, tokens, dim)
        mask = features["attention_mask"][:, :, None].astype(np.float32)
        if self.pooling == "cls":
            out = states[:, 0]
        elif self.pooling == "max":
            out = np.where(mask > 0, states, -1e9).max(axis=1)
        else:
            out = (states * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        out = np.ascontiguousarray(out, dtype=np.float32)
        if self.normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def __repr__(self) -> str:
        return f"OnnxSentenceEncoder(name={self.name!r}, dim={self.dim}, path={str(self.path)!r})"


def _cache_key(model: Any, name: str, names: Sequence[str]) -> str:
    import onnxruntime
    import torch
    import transformers

    params = sum(int(p.numel()) for p in model.parameters())
    first = next(iter(model.parameters())).detach().flatten()[:64].tolist()
    ident = [name, names, params, first, torch.__version__, transformers.__version__, onnxruntime.__version__]
    return content_hash(repr(ident))[:20]


def _export(hf_model: Any, names: Sequence[str], example: dict[str, Any], path: Path) -> None:
    """Write the transformer's token states as ONNX to ``path`` (atomically)."""
    import torch

    class TokenStates(torch.nn.Module):
        """The transformer's last hidden states as a plain ``forward(*inputs)``."""

        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    module = TokenStates().eval()
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["states"] = {0: "batch", 1: "tokens"}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
            torch.onnx.export(
                module,
                tuple(example[n] for n in names),
                tmp,
                input_names=list(names),
                output_names=["states"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def onnx_sentence_encoder(
    model: Any,
    *,
    name: str,
    cache_dir: Path,
    normalize: bool = True,
    n_threads: int | None = 1,
    tolerance: float = TOLERANCE,
) -> OnnxSentenceEncoder | None:
    """An `OnnxSentenceEncoder` for the loaded sentence-transformers ``model``, exported once into
    ``cache_dir``; None (logged) when ONNX Runtime is not installed, the model is not a
    transformer + pooling (+ normalisation) pipeline, the export fails, or its vectors differ from
    PyTorch's by more than ``tolerance`` on the probe texts."""
    if not onnx_available():
        return None
    pipeline = _pipeline(model)
    if pipeline is None:
        logger.info("query encoder %s: not a transformer + pooling model, staying on PyTorch", name)
        return None
    transformer, pooling, ends_normalized = pipeline
    import torch

    example = model.preprocess(list(_PROBES))
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if isinstance(example.get(n), torch.Tensor)]
    try:
        path = Path(cache_dir) / f"{_cache_key(model, name, names)}.onnx"
        with _export_lock:
            if not path.exists():
                _export(transformer.model, names, example, path)
        encoder = OnnxSentenceEncoder(
            model, path, name=name, pooling=pooling, normalize=normalize or ends_normalized, n_threads=n_threads
        )
        with torch.inference_mode():
            expected = model.encode(
                list(_PROBES), convert_to_numpy=True, normalize_embeddings=normalize, show_progress_bar=False
            )
    except Exception:  # noqa: BLE001 - any export/runtime failure keeps PyTorch
        logger.warning("query encoder %s: ONNX export failed, staying on PyTorch", name, exc_info=True)
        return None
    diff = float(np.abs(encoder.encode(list(_PROBES)) - expected).max())
    if not diff <= tolerance:
        logger.warning(
            "query encoder %s: ONNX vectors differ by %.2g > %.2g, staying on PyTorch", name, diff, tolerance
        )
        return None
    logger.info("query encoder %s: ONNX Runtime (max difference from PyTorch %.1e)", name, diff)
    return encoder
