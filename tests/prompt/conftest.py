"""Fixtures for prompt tests: the bundled MiniLM tokenizer and real data slices."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import read_jsonl

from fewshot.prompt import HFTokenCounter
from fewshot.retrieve import bundled_model_path


@pytest.fixture(scope="session")
def sst5_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "sst5" / "train.jsonl", 300)


@pytest.fixture(scope="session")
def gsm8k_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "gsm8k" / "train.jsonl", 200)


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder, which holds a real WordPiece tokenizer."""
    return bundled_model_path()


@pytest.fixture(scope="session")
def counter(tokenizer_dir: Path) -> HFTokenCounter:
    return HFTokenCounter.from_pretrained(tokenizer_dir)


@pytest.fixture(scope="session")
def raw_tokenizer(tokenizer_dir: Path):
    """A separately loaded transformers tokenizer, to count prompts independently."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
