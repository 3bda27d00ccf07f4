"""Every registered LM backend scheme (`fewshot.lm.BACKENDS`) keeps the backend contract
(``checks.LM_CHECKS``): ``hf:`` on a tiny random GPT-2, ``openai`` against the tests' local
OpenAI-compatible server running it, and the GGUF/offline schemes when their packages are
installed (marked slow; skipped otherwise)."""

from __future__ import annotations

import pytest
from checks import LM_CHECKS, LM_OPTIONS, LM_PROMPT, LM_REQUESTS, check_backend_spec, check_unknown_backend_spec

from fewshot.lm import BACKENDS

SCHEMES = BACKENDS.names()  # at collection time


@pytest.fixture(scope="module")
def built():
    """Backends built so far in this module, by scheme (closed at the end)."""
    backends: dict = {}
    yield backends
    for lm in backends.values():
        lm.close()


@pytest.fixture
def backend(scheme, built, lm_builders, request):
    if scheme not in lm_builders:
        pytest.fail(
            f"no test builder for LM backend scheme {scheme!r}: add one to LM_BUILDERS in tests/contracts/conftest.py",
            pytrace=False,
        )
    if scheme not in built:
        built[scheme] = lm_builders[scheme](request)
    return built[scheme]


@pytest.mark.parametrize("check", LM_CHECKS, ids=lambda f: f.__name__.removeprefix("check_lm_"))
@pytest.mark.parametrize("scheme", SCHEMES)
def test_lm_contract(scheme, check, backend):
    check(backend)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_spec_without_a_model(scheme):
    check_backend_spec(scheme)


def test_unknown_spec_names_the_registered_schemes():
    check_unknown_backend_spec()


@pytest.mark.parametrize("scheme", ["openai"])
def test_openai_matches_the_local_backend(scheme, backend, tiny_lm):
    """The HTTP backend reports what the model it talks to computes (same numbers as ``hf:``)."""
    local, remote = tiny_lm.loglikelihood(LM_REQUESTS), backend.loglikelihood(LM_REQUESTS)
    for a, b in zip(local, remote):
        assert b.token_logprobs == pytest.approx(a.token_logprobs, abs=1e-4)
    assert backend.score_options(LM_PROMPT, LM_OPTIONS).best == tiny_lm.score_options(LM_PROMPT, LM_OPTIONS).best
