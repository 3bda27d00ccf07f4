"""Bad input raises InvalidInputError (or NotFoundError / MissingDependencyError) with a clear message;
the package's public surface is complete."""

from __future__ import annotations

import importlib.util

import pytest

import fewshot.lm as lm_pkg
from fewshot.exceptions import InvalidInputError, MissingDependencyError, NotFoundError
from fewshot.lm import cut_at_stop, get_backend


def test_all_names_exist():
    for name in lm_pkg.__all__:
        assert getattr(lm_pkg, name) is not None, name


@pytest.mark.parametrize(
    "options, message",
    [
        ([], "options is empty"),
        ((), "options is empty"),
        ([" good", ""], "option 1 must be a non-empty str"),
        ("good", "sequence of str"),
        ([" good", None], "option 1"),
    ],
)
def test_bad_options(wp_lm, options, message):
    with pytest.raises(InvalidInputError, match=message):
        wp_lm.score_options("The movie is", options)


@pytest.mark.parametrize(
    "requests, message",
    [
        ([("The movie is", "")], "request 0: the continuation is empty"),
        ([("a", " b"), ("The movie is", "")], "request 1: the continuation is empty"),
        ([("a",)], "request 0 must be a .prompt, continuation. pair"),
        ("abc", "sequence of .prompt, continuation. pairs"),
        ([("a", 3)], "must be str"),
    ],
)
def test_bad_requests(wp_lm, requests, message):
    with pytest.raises(InvalidInputError, match=message):
        wp_lm.loglikelihood(requests)


def test_continuation_that_tokenises_to_nothing(wp_lm):
    # WordPiece drops whitespace: "   " adds no token after the prompt
    with pytest.raises(InvalidInputError, match="adds no token"):
        wp_lm.loglikelihood([("The movie is", "   ")])


def test_empty_request_list(wp_lm):
    assert wp_lm.loglikelihood([]) == []
    assert wp_lm.generate([], max_new_tokens=3) == []


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be an int >= 1"),
        ({"max_new_tokens": 2, "n": 0}, "n must be an int >= 1"),
        ({"max_new_tokens": 2, "temperature": -1}, "temperature must be finite and >= 0"),
        ({"max_new_tokens": 2, "temperature": float("nan")}, "temperature"),
        ({"max_new_tokens": 2, "stop": [""]}, "stop strings must be non-empty"),
        ({"max_new_tokens": 2, "seed": 1.5}, "seed must be an int"),
    ],
)
def test_bad_generation_arguments(wp_lm, kw, message):
    with pytest.raises(InvalidInputError, match=message):
        wp_lm.generate(["The movie is"], **kw)


def test_prompts_must_be_a_list(wp_lm):
    with pytest.raises(InvalidInputError, match="wrap a single prompt in a list"):
        wp_lm.generate("The movie is", max_new_tokens=2)


def test_too_many_new_tokens_for_the_context(wp_lm):
    with pytest.raises(InvalidInputError, match="no room for the prompt"):
        wp_lm.generate(["a"], max_new_tokens=500)


@pytest.mark.parametrize("spec", ["", "nope", "bert:x", "hf:", "gguf:/tmp/model.bin", "openai:#m"])
def test_unknown_or_malformed_specs(spec):
    with pytest.raises(InvalidInputError):
        get_backend(spec)


def test_unknown_spec_lists_the_forms():
    with pytest.raises(InvalidInputError, match="unknown LM backend spec 'nope'.*hf:.*openai:"):
        get_backend("nope")


def test_missing_local_model(tmp_path):
    with pytest.raises(NotFoundError, match="no local model"):
        get_backend(f"hf:{tmp_path / 'nothing-here'}")
    with pytest.raises(NotFoundError, match="GGUF file not found"):
        get_backend(f"gguf:{tmp_path / 'missing.gguf'}")


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python installed")
def test_llamacpp_without_the_extra(tmp_path):
    with pytest.raises(MissingDependencyError, match=r"fewshot\[llamacpp\]"):
        get_backend(f"llamacpp:{tmp_path / 'm.gguf'}")


def test_cut_at_stop():
    assert cut_at_stop("abc\ndef", ["\n"]) == ("abc", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)
    assert cut_at_stop("a. b\n", ["\n", "."]) == ("a", True)  # the earliest stop wins
    assert cut_at_stop("abc", []) == ("abc", False)
