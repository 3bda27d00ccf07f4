"""Token counters, with the bundled MiniLM WordPiece tokenizer as the real one."""

from __future__ import annotations

import importlib.util

import pytest

from fewshot.exceptions import MissingDependencyError, NotFoundError
from fewshot.prompt import (
    ApproxTokenCounter,
    HFTokenCounter,
    TiktokenCounter,
    TokenCounter,
    get_token_counter,
)


def test_hf_counter_matches_tokenizer(counter, raw_tokenizer, sst5_rows):
    texts = [r["text"] for r in sst5_rows[:50]]
    expected = [len(raw_tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert counter.count_many(texts) == expected
    assert counter.count(texts[0]) == expected[0]
    assert isinstance(counter, TokenCounter)
    with_specials = HFTokenCounter(raw_tokenizer, name="x", add_special_tokens=True)
    assert with_specials.count(texts[0]) == expected[0] + 2  # [CLS] ... [SEP]


def test_hf_truncate_is_a_prefix_within_budget(counter, sst5_rows):
    for row in sst5_rows[:30]:
        text = row["text"]
        for cap in (1, 5, 12):
            short = counter.truncate(text, cap)
            assert text.startswith(short)
            assert counter.count(short) <= cap
        assert counter.truncate(text, 10_000) == text
    assert counter.truncate("anything", 0) == ""


def test_hf_counter_missing_model(tmp_path):
    with pytest.raises(NotFoundError):
        HFTokenCounter.from_pretrained(tmp_path / "no-tokenizer-here")


def test_approx_counter_errs_high(counter, sst5_rows, gsm8k_rows):
    approx = ApproxTokenCounter()
    texts = [r["text"] for r in sst5_rows[:100]] + [r["answer"] for r in gsm8k_rows[:50]]
    real = counter.count_many(texts)
    est = approx.count_many(texts)
    assert sum(est) >= sum(real)
    assert sum(e >= r for e, r in zip(est, real)) >= 0.9 * len(texts)
    assert approx.count("") == 0 and approx.count("a, b") == 3
    short = approx.truncate(texts[0], 5)
    assert texts[0].startswith(short) and approx.count(short) <= 5


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is not None, reason="tiktoken is installed")
def test_tiktoken_missing_raises_named_dependency():
    with pytest.raises(MissingDependencyError) as info:
        TiktokenCounter()
    assert info.value.package == "tiktoken" and info.value.extra == "tiktoken"
    with pytest.raises(MissingDependencyError):
        get_token_counter("tiktoken:cl100k_base")


def test_get_token_counter(tokenizer_dir, counter):
    assert isinstance(get_token_counter("approx"), ApproxTokenCounter)
    assert get_token_counter("approx:3").chars_per_token == 3.0
    hf = get_token_counter(f"hf:{tokenizer_dir}")
    assert isinstance(hf, HFTokenCounter) and hf.count("hello world") == 2
    assert get_token_counter(counter) is counter
