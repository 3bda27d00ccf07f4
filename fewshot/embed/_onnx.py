"""`OnnxSentenceEncoder`: a sentence-transformers model run by ONNX Runtime, for queries.

A query is one short text: PyTorch spends more time dispatching its ~100 operators than computing
them. ONNX Runtime runs the same weights through fused kernels and is about 2x faster per query on
a CPU core (``benchmarks/bench_api.py`` prints both), and a process that embeds only queries (an
API server) never imports PyTorch or sentence-transformers: ~430 MB less resident memory.

The vectors are the same: an export is compared with the PyTorch model on probe texts when it is
written, and refused (the caller keeps PyTorch) when any component differs by more than
``tolerance`` (default 1e-4; measured ~3e-7 for all-MiniLM-L6-v2). The export lives in
``cache_dir/<key>/`` (``model.onnx``, ``tokenizer.json``, ``meta.json`` with the pooling and the
measured difference); the key covers the model directory's files and the ONNX Runtime version, so
a changed model is exported again. Only models made of a transformer, a pooling layer (mean, CLS
or max) and optionally a normalisation are exported; anything else stays on PyTorch.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.hashing import content_hash

__all__ = ["OnnxSentenceEncoder", "onnx_sentence_encoder", "onnx_available", "TOLERANCE"]

logger = logging.getLogger(__name__)

#: Largest absolute difference allowed between a vector from ONNX Runtime and from PyTorch.
TOLERANCE = 1e-4
#: Bumped when the export's layout or checks change (old exports are then redone).
_FORMAT = 1
_PROBES = (
    "A short query.",
    "the movie was a wonderful, heart-warming surprise from start to finish, and I would see it again",
    "What is the capital of France?",
    "",
    "word " * 300,
)
_POOLING = ("mean", "cls", "max")
_export_lock = threading.Lock()


def onnx_available() -> bool:
    """Whether ONNX Runtime, the tokenizers library and the exporter's ``onnx`` are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx", "tokenizers"))


class OnnxSentenceEncoder:
    """An `Encoder` over an export made by `onnx_sentence_encoder`: the model's tokenizer (the
    ``tokenizers`` library), its transformer in ONNX Runtime and its pooling in numpy; no PyTorch.

    ``encode(texts) -> (len(texts), dim) float32``, rows L2-normalised when the export says so.
    Thread-safe: ONNX Runtime sessions and tokenizers may be used concurrently.
    """

    def __init__(self, directory: Path, *, name: str, n_threads: int | None = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        self.directory, self.name, self.meta = directory, name, meta
        self.pooling, self.normalize, self.dim = meta["pooling"], bool(meta["normalize"]), int(meta["dim"])
        self.input_names: list[str] = list(meta["inputs"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(meta["max_length"]))
        self.tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(n_threads or 0)  # 0: ONNX Runtime's default (all cores)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(directory / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    @property
    def max_difference(self) -> float:
        """The largest difference from PyTorch measured on the probe texts when exported."""
        return float(self.meta["max_difference"])

    def _features(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts)
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        return {n: np.asarray(columns[n], dtype=np.int64) for n in self.input_names}

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
        return f"OnnxSentenceEncoder(name={self.name!r}, dim={self.dim}, directory={str(self.directory)!r})"


# ----------------------------------------------------------------------------- export
def _model_key(model_dir: Path, name: str) -> str | None:
    """The cache key of a model directory's files (paths, sizes, times), or None when ``model_dir``
    is not a directory (a model only in the Hugging Face cache: keyed after loading it)."""
    if not model_dir.is_dir():
        return None
    import onnxruntime

    files = sorted(
        (str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in model_dir.rglob("*")
        if p.is_file()
    )
    return content_hash(repr([_FORMAT, name, str(model_dir.resolve()), files, onnxruntime.__version__]))[:24]


def _pipeline(model: Any) -> tuple[Any, str, bool] | None:
    """``(transformer module, pooling mode, ends with a normalisation)`` of a supported
    sentence-transformers model, else None."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if len(modules) not in (2, 3) or kinds[0] != "Transformer" or kinds[1] != "Pooling":
        return None
    if len(modules) == 3 and kinds[2] != "Normalize":
        return None
    mode = getattr(modules[1], "pooling_mode", None)
    tokenizer = getattr(modules[0], "tokenizer", None)
    if mode not in _POOLING or getattr(modules[0], "model", None) is None or not getattr(tokenizer, "is_fast", False):
        return None
    return modules[0], str(mode), len(modules) == 3


def _export(model: Any, directory: Path, *, normalize: bool) -> bool:
    """Write ``model`` as an export into ``directory`` (atomically); False when unsupported."""
    import torch

    pipeline = _pipeline(model)
    if pipeline is None:
        return False
    transformer, pooling, ends_normalized = pipeline
    example = model.preprocess(list(_PROBES[:3]))
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if isinstance(example.get(n), torch.Tensor)]
    hf_model = transformer.model

    class TokenStates(torch.nn.Module):
        """The transformer's last hidden states as a plain ``forward(*inputs)``."""

        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "states"]}
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=directory.parent))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
            torch.onnx.export(
                TokenStates().eval(),
                tuple(example[n] for n in names),
                str(tmp / "model.onnx"),
                input_names=names,
                output_names=["states"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        tokenizer = transformer.tokenizer
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        meta = {
            "format": _FORMAT,
            "pooling": pooling,
            "normalize": bool(normalize or ends_normalized),
            "dim": int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()),
            "inputs": names,
            "max_length": int(model.max_seq_length),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token),
        }
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        candidate = OnnxSentenceEncoder(tmp, name="probe")
        with torch.inference_mode():
            expected = model.encode(
                list(_PROBES), convert_to_numpy=True, normalize_embeddings=meta["normalize"], show_progress_bar=False
            )
        meta["max_difference"] = float(np.abs(candidate.encode(list(_PROBES)) - expected).max())
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def onnx_sentence_encoder(
    model_dir: str | os.PathLike[str],
    *,
    name: str,
    cache_dir: Path,
    load_model: Callable[[], Any],
    normalize: bool = True,
    n_threads: int | None = 1,
    tolerance: float = TOLERANCE,
) -> OnnxSentenceEncoder | None:
    """The ONNX query encoder of the sentence-transformers model in ``model_dir`` (``name`` is
    what vectors are recorded under). A valid export in ``cache_dir`` is loaded without PyTorch;
    otherwise ``load_model()`` (the loaded PyTorch model) is exported and checked first.

    None (logged; the caller keeps PyTorch) when ONNX Runtime is not installed, the model is not
    a transformer + pooling (+ normalisation) pipeline, the export fails, or its vectors differ
    from PyTorch's by more than ``tolerance``."""
    if not onnx_available():
        return None
    directory: Path | None = None
    try:
        key = _model_key(Path(model_dir), name)
        model = None
        if key is None:  # not a directory: key on the loaded weights
            model = load_model()
            first = next(iter(model.parameters())).detach().flatten()[:64].tolist()
            key = content_hash(repr([_FORMAT, name, first, sum(int(p.numel()) for p in model.parameters())]))[:24]
        directory = Path(cache_dir) / key
        with _export_lock:
            if not (directory / "meta.json").is_file():
                model = model if model is not None else load_model()
                if not _export(model, directory, normalize=normalize):
                    logger.info("query encoder %s: not a transformer + pooling model, staying on PyTorch", name)
                    return None
        encoder = OnnxSentenceEncoder(directory, name=name, n_threads=n_threads)
    except Exception:  # noqa: BLE001 - any export/runtime failure keeps PyTorch
        logger.warning("query encoder %s: ONNX export failed, staying on PyTorch", name, exc_info=True)
        if directory is not None:  # a damaged export: made again next time
            shutil.rmtree(directory, ignore_errors=True)
        return None
    if not encoder.max_difference <= tolerance or encoder.normalize != normalize:
        logger.warning(
            "query encoder %s: ONNX vectors differ from PyTorch's by %.2g (> %.2g), staying on PyTorch",
            name,
            encoder.max_difference,
            tolerance,
        )
        return None
    logger.info("query encoder %s: ONNX Runtime (max difference from PyTorch %.1e)", name, encoder.max_difference)
    return encoder
