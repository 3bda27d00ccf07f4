"""The ONNX Runtime query encoder gives PyTorch's vectors, and is refused where it would not."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from fewshot import Workspace  # noqa: E402
from fewshot.embed import SentenceEncoder, bundled_model_path, onnx_available, onnx_sentence_encoder  # noqa: E402
from fewshot.embed._onnx import TOLERANCE  # noqa: E402


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def encoder(embedder, cache, **kwargs):
    return onnx_sentence_encoder(
        bundled_model_path(), name="minilm", cache_dir=cache, load_model=lambda: embedder.model, **kwargs
    )


def test_onnx_vectors_equal_pytorch_vectors_on_real_sentences(embedder, onnx_cache, data_dir):
    texts = [json.loads(line)["text"] for line in open(data_dir / "sst5" / "test.jsonl")][:64]
    texts += ["", "a", "word " * 400]  # empty, one letter, truncated at the model's 256 tokens
    onnx = encoder(embedder, onnx_cache)
    assert onnx is not None and onnx.directory.parent == onnx_cache and onnx.max_difference < TOLERANCE
    torch_vectors = SentenceEncoder(embedder.model, name="minilm").encode(texts)
    one_by_one = np.vstack([onnx.encode([t]) for t in texts])
    batched = onnx.encode(texts)
    assert one_by_one.shape == (len(texts), 384) and one_by_one.dtype == np.float32
    assert np.abs(one_by_one - torch_vectors).max() < TOLERANCE
    assert np.abs(batched - torch_vectors).max() < TOLERANCE  # padding does not change a vector
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_cached_export_loads_without_pytorch(embedder, onnx_cache):
    first = encoder(embedder, onnx_cache)
    mtime = (first.directory / "model.onnx").stat().st_mtime_ns

    def must_not_load():
        raise AssertionError("the model was loaded although an export is cached")

    again = onnx_sentence_encoder(bundled_model_path(), name="minilm", cache_dir=onnx_cache, load_model=must_not_load)
    assert again.directory == first.directory and (again.directory / "model.onnx").stat().st_mtime_ns == mtime
    code = (
        "import sys; from pathlib import Path; from fewshot.embed import bundled_model_path, onnx_sentence_encoder\n"
        f"e = onnx_sentence_encoder(bundled_model_path(), name='minilm', cache_dir=Path({str(onnx_cache)!r}), "
        "load_model=None)\n"
        "v = e.encode(['a query'])\n"
        "print(v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(1,", "384)", "False", "False"]


def test_a_damaged_export_is_refused_then_made_again(embedder, onnx_cache, caplog):
    first = encoder(embedder, onnx_cache)
    (first.directory / "model.onnx").write_bytes(b"not an onnx file")
    assert encoder(embedder, onnx_cache) is None
    assert "staying on PyTorch" in caplog.text
    assert encoder(embedder, onnx_cache) is not None  # exported anew


def test_an_export_that_differs_from_pytorch_is_refused(embedder, onnx_cache, caplog):
    assert encoder(embedder, onnx_cache, tolerance=1e-12) is None
    assert "differ from PyTorch" in caplog.text


def test_models_that_are_not_transformer_plus_pooling_stay_on_pytorch(embedder, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    model = SentenceTransformer(modules=[*embedder.model, Dense(384, 16)])
    got = onnx_sentence_encoder(tmp_path / "nowhere", name="dense", cache_dir=tmp_path, load_model=lambda: model)
    assert got is None


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
