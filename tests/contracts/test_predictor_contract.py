"""Every registered skill predictor (`fewshot.adaptive.PREDICTORS`) keeps the predictor contract
(``checks.PREDICTOR_CHECKS``) over 120 real GSM8K questions with skills; LM predictors prompt a
tiny random GPT-2."""

from __future__ import annotations

import pytest
from checks import PREDICTOR_CHECKS, check_predictor_for_pool, make_predictor

from fewshot.adaptive import PREDICTORS, vocabulary_from

NAMES = PREDICTORS.names()  # at collection time


@pytest.fixture(scope="module")
def vocabulary(gsm_retriever) -> list[str]:
    vocab = vocabulary_from(ex.skills for ex in gsm_retriever.corpus)
    assert len(vocab) >= 5, vocab
    return vocab


@pytest.fixture(scope="module")
def built():
    return {}


def _lm_for(name, request):
    return request.getfixturevalue("tiny_lm") if PREDICTORS.get(name).needs_lm else None


@pytest.fixture
def predictor(name, built, gsm_retriever, vocabulary, predictor_params, request):
    if name not in built:
        built[name] = make_predictor(
            name, gsm_retriever, vocabulary, lm=_lm_for(name, request), params=predictor_params(name)
        )
    return built[name]


@pytest.mark.parametrize("name", NAMES)
def test_for_pool(name, gsm_retriever, vocabulary, predictor_params, request):
    check_predictor_for_pool(name, gsm_retriever, vocabulary, lm=_lm_for(name, request), params=predictor_params(name))


@pytest.mark.parametrize("check", PREDICTOR_CHECKS, ids=lambda f: f.__name__.removeprefix("check_predictor_"))
@pytest.mark.parametrize("name", NAMES)
def test_predictor_contract(name, check, predictor, gsm_queries, vocabulary):
    check(predictor, gsm_queries, vocabulary)


@pytest.mark.parametrize("name", NAMES)
def test_restricted_vocabulary_is_honoured(name, gsm_retriever, vocabulary, gsm_queries, predictor_params):
    """A predictor built for part of the pool's vocabulary names only skills of that part (LM
    predictors get a scripted model naming skills of the whole vocabulary)."""
    from toys import ScriptedLM, skill_answer

    small = vocabulary[:3]
    lm = ScriptedLM(skill_answer(vocabulary)) if PREDICTORS.get(name).needs_lm else None
    p = make_predictor(name, gsm_retriever, small, lm=lm, params=predictor_params(name))
    assert set(p.vocabulary) <= set(small), p.vocabulary
    for skills in p.predict(gsm_queries, top=3):
        assert set(skills) <= set(small), (name, skills)


@pytest.mark.parametrize("check", PREDICTOR_CHECKS, ids=lambda f: f.__name__.removeprefix("check_predictor_"))
@pytest.mark.parametrize("name", [n for n in NAMES if PREDICTORS.get(n).needs_lm])
def test_lm_predictor_contract_with_skill_answers(
    name, check, gsm_retriever, vocabulary, gsm_queries, predictor_params
):
    """The tiny random GPT-2 never names a skill; a scripted model that does drives the answer
    parsing through the same checks (at least one query must get a skill)."""
    from toys import ScriptedLM, skill_answer

    p = make_predictor(
        name, gsm_retriever, vocabulary, lm=ScriptedLM(skill_answer(vocabulary)), params=predictor_params(name)
    )
    assert any(p.predict(gsm_queries, top=3)), "no skill parsed from answers that name skills"
    check(p, gsm_queries, vocabulary)
