"""OpenAICompatible over a real loopback HTTP server that runs the tiny HF model.

Each test sends a bounded number of requests; the client's retries are bounded (max_retries)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from lm_openai_server import create_app, serve

from fewshot.exceptions import InvalidInputError
from fewshot.lm import LMBackendError, OpenAICompatible, get_backend

REQUESTS = [
    ("The capital of France is", " Paris"),
    ("Review: a gorgeous, witty movie.\nSentiment:", " great"),
    ("The movie is terrible, the plot is", " bad and the ending is okay"),
    ("The movie is ", "great"),  # bpe: boundary token straddles prompt and continuation
]
KEY = "sk-test-123"


@pytest.fixture(scope="module", params=["wordpiece", "bpe"])
def served(request, wp_lm, bpe_lm):
    """(local backend, base_url) with the server running the same model."""
    lm = wp_lm if request.param == "wordpiece" else bpe_lm
    with serve(create_app(lm, api_key=KEY)) as url:
        yield lm, url


@pytest.fixture
def client(served):
    lm, url = served
    with get_backend(f"openai:{url}#tiny", api_key=KEY, timeout=20, max_retries=0, batch_size=2) as c:
        yield c


def test_loglikelihood_matches_local_backend(served, client):
    lm, _ = served
    local = lm.loglikelihood(REQUESTS)
    remote = client.loglikelihood(REQUESTS)  # three HTTP requests of <= 2 prompts
    for (prompt, cont), a, b in zip(REQUESTS, local, remote):
        assert b.n_tokens == a.n_tokens, (prompt, cont, a.tokens, b.tokens)
        assert b.token_logprobs == pytest.approx(a.token_logprobs, abs=1e-4)
        assert b.is_greedy == a.is_greedy


def test_empty_prompt(served, client):
    lm, _ = served
    [local] = lm.loglikelihood([("", "The movie is great")])
    if lm.tokenizer.cls_token_id is None:
        # no start token in the server's tokenisation: the first token cannot be scored remotely
        with pytest.raises(InvalidInputError, match="non-empty prompt"):
            client.loglikelihood([("", "The movie is great")])
    else:
        [remote] = client.loglikelihood([("", "The movie is great")])
        assert remote.token_logprobs == pytest.approx(local.token_logprobs, abs=1e-4)


def test_score_max_tokens_one_ignores_the_generated_token(served):
    lm, url = served
    with OpenAICompatible(url, "tiny", api_key=KEY, score_max_tokens=1, max_retries=0) as c:
        remote = c.loglikelihood(REQUESTS[:2])
    local = lm.loglikelihood(REQUESTS[:2])
    for a, b in zip(local, remote):
        assert b.token_logprobs == pytest.approx(a.token_logprobs, abs=1e-4)


def test_score_options_matches_local(served, client):
    lm, _ = served
    options = [" terrible", " bad", " okay", " good", " great"]
    prompt = "Review: a gorgeous, witty movie.\nSentiment:"
    a, b = lm.score_options(prompt, options), client.score_options(prompt, options)
    np.testing.assert_allclose(b.mean_nll, a.mean_nll, atol=1e-4)
    assert a.best == b.best


@pytest.mark.parametrize("chat", [True, False])
def test_generation_over_http(served, chat):
    lm, url = served
    prompts = ["The movie is", "The capital of France is"]
    with OpenAICompatible(url, "tiny", api_key=KEY, chat=chat, max_retries=0) as c:
        remote = c.generate(prompts, max_new_tokens=6)
        sampled = c.generate(prompts, max_new_tokens=6, temperature=1.0, seed=5, n=2)
        again = c.generate(prompts, max_new_tokens=6, temperature=1.0, seed=5, n=2)
    local = lm.generate(prompts, max_new_tokens=6)
    assert [g.text for g in remote] == [g.text for g in local]
    for a, b in zip(local, remote):
        assert b.token_logprobs == pytest.approx(a.token_logprobs, abs=1e-4)
        assert b.finish_reason == a.finish_reason
    assert [(g.prompt_index, g.sample_index) for g in sampled] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [g.text for g in sampled] == [g.text for g in again]


def test_stop_strings_over_http(served, client):
    lm, _ = served
    [free] = lm.generate(["The movie is"], max_new_tokens=10)
    stop = free.text.strip()[:1]
    [local] = lm.generate(["The movie is"], max_new_tokens=10, stop=[stop])
    [remote] = client.generate(["The movie is"], max_new_tokens=10, stop=[stop])
    assert remote.text == local.text == free.text[: free.text.find(stop)]
    assert remote.finish_reason == "stop"


def test_count_tokens_and_max_context(served, client):
    lm, _ = served
    text = "The movie is great and the actors are great too."
    assert client.count_tokens(text) == lm.count_tokens(text)
    assert client.max_context == lm.max_context == 128
    assert client.name.endswith("#tiny")


def test_http_errors_are_clear(served):
    _, url = served
    with OpenAICompatible(url, "tiny", api_key="wrong", max_retries=0) as c:
        with pytest.raises(LMBackendError, match="401") as err:
            c.loglikelihood([("a", " b")])
    # The upstream's answer is kept for logs, never in the message (it would reach API callers).
    assert "invalid API key" not in str(err.value) and "invalid API key" in err.value.detail
    with OpenAICompatible(url, "no-such-model", api_key=KEY, max_retries=0) as c:
        with pytest.raises(LMBackendError, match="404") as err:
            c.generate(["a"], max_new_tokens=1)
    assert "does not exist" not in str(err.value) and "does not exist" in err.value.detail


def test_api_key_from_environment(served, monkeypatch):
    lm, url = served
    monkeypatch.setenv("FEWSHOT_TEST_LM_KEY", KEY)
    with OpenAICompatible(url, "tiny", api_key_env="FEWSHOT_TEST_LM_KEY", max_retries=0) as c:
        [ll] = c.loglikelihood([("The movie is", " great")])
    assert ll.token_logprobs == pytest.approx(
        lm.loglikelihood([("The movie is", " great")])[0].token_logprobs, abs=1e-4
    )


def test_timeout_is_reported_after_bounded_retries(served):
    _, url = served
    with OpenAICompatible(url, "slow:1.0", api_key=KEY, timeout=0.2, max_retries=1) as c:
        with pytest.raises(LMBackendError, match="2 attempt.*timed out"):
            c.loglikelihood([("a", " b")])


def test_connection_refused_is_reported():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with OpenAICompatible(f"http://127.0.0.1:{port}/v1", "m", timeout=2, max_retries=1) as c:
        with pytest.raises(LMBackendError, match="connection failed"):
            c.generate(["a"], max_new_tokens=1)


def test_bad_specs():
    with pytest.raises(InvalidInputError, match="openai:<base_url>#<model>"):
        get_backend("openai:http://127.0.0.1:1/v1")
    with pytest.raises(InvalidInputError, match="http"):
        OpenAICompatible("127.0.0.1:8000", "m")
