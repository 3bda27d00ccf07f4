"""The ONNX Runtime query encoder gives PyTorch's vectors, and is refused where it would not."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from fewshot import Workspace  # noqa: E402
from fewshot.embed import SentenceEncoder, onnx_available, onnx_sentence_encoder  # noqa: E402
from fewshot.embed._onnx import TOLERANCE  # noqa: E402


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def test_onnx_vectors_equal_pytorch_vectors_on_real_sentences(embedder, onnx_cache, data_dir):
    texts = [json.loads(line)["text"] for line in open(data_dir / "sst5" / "test.jsonl")][:64]
    texts += ["", "a", "word " * 400]  # empty, one letter, truncated at the model's 256 tokens
    onnx = onnx_sentence_encoder(embedder.model, name="minilm", cache_dir=onnx_cache)
    assert onnx is not None and onnx.path.parent == onnx_cache
    torch_vectors = SentenceEncoder(embedder.model, name="minilm").encode(texts)
    one_by_one = np.vstack([onnx.encode([t]) for t in texts])
    batched = onnx.encode(texts)
    assert one_by_one.shape == (len(texts), 384) and one_by_one.dtype == np.float32
    assert np.abs(one_by_one - torch_vectors).max() < TOLERANCE
    assert np.abs(batched - torch_vectors).max() < TOLERANCE  # padding does not change a vector
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_the_export_is_reused_and_a_mismatch_keeps_pytorch(embedder, onnx_cache, caplog):
    first = onnx_sentence_encoder(embedder.model, name="minilm", cache_dir=onnx_cache)
    mtime = first.path.stat().st_mtime_ns
    again = onnx_sentence_encoder(embedder.model, name="minilm", cache_dir=onnx_cache)
    assert again.path == first.path and again.path.stat().st_mtime_ns == mtime  # not exported twice
    # a corrupted export: the check against PyTorch refuses it
    first.path.write_bytes(b"not an onnx file")
    assert onnx_sentence_encoder(embedder.model, name="minilm", cache_dir=onnx_cache) is None
    assert "staying on PyTorch" in caplog.text
    first.path.unlink()


def test_models_that_are_not_transformer_plus_pooling_stay_on_pytorch(embedder, onnx_cache):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    modules = [*embedder.model, Dense(384, 16)]
    assert onnx_sentence_encoder(SentenceTransformer(modules=modules), name="dense", cache_dir=onnx_cache) is None


@pytest.mark.parametrize("choice, expected", [("torch", "SentenceEncoder"), ("auto", "OnnxSentenceEncoder")])
def test_the_setting_chooses_the_query_runtime(tmp_path, embedder, onnx_cache, choice, expected):
    ws = Workspace.open(tmp_path / choice, query_encoder=choice, onnx_cache_dir=onnx_cache)
    ws.use_embedder(embedder)
    try:
        encoder = ws.ctx.query_encoder(ws.settings.embedding_model)
        assert type(encoder).__name__ == expected
        assert ws.ctx.query_encoder(ws.settings.embedding_model) is encoder  # built once
    finally:
        ws.close()
    assert onnx_available()
