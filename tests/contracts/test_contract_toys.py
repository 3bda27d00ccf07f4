"""The check functions work on implementations registered inside a test: toy implementations
pass them and deliberately broken ones fail them (so the contract tests can fail)."""

from __future__ import annotations

import pytest
from checks import (
    check_backend_spec,
    check_lm_backend,
    check_predictor,
    check_retriever,
    check_selection,
    check_template,
    check_template_samples_cover,
    check_unknown_backend_spec,
)
from toys import (
    DuplicateIds,
    FirstFree,
    IgnoresLabeled,
    OutsideVocabulary,
    ToyLM,
    UnseededLM,
    VocabularyOrder,
    WordOverlap,
    registered,
)

from fewshot.adaptive import PREDICTORS, vocabulary_from
from fewshot.annotate import STRATEGIES
from fewshot.lm import BACKENDS, get_backend
from fewshot.prompt import TEMPLATES, PromptTemplate
from fewshot.retrieve import RETRIEVERS


def test_toy_selection_method(sst5_vectors):
    with registered(STRATEGIES, "first_free", FirstFree):
        check_selection("first_free", sst5_vectors)


def test_broken_selection_method_fails(sst5_vectors):
    with registered(STRATEGIES, "ignores_labeled", IgnoresLabeled):
        with pytest.raises(AssertionError, match="labeled rows picked"):
            check_selection("ignores_labeled", sst5_vectors)
    assert "ignores_labeled" not in STRATEGIES


def test_toy_retriever(corpus, sst5_queries, tmp_path):
    with registered(RETRIEVERS, "word_overlap", WordOverlap):
        check_retriever("word_overlap", corpus, sst5_queries, tmp_path=tmp_path)


def test_broken_retriever_fails(corpus, sst5_queries):
    with registered(RETRIEVERS, "duplicate_ids", DuplicateIds):
        with pytest.raises(AssertionError, match="duplicate ids"):
            check_retriever("duplicate_ids", corpus, sst5_queries)


def test_retriever_registered_under_another_name_fails(corpus, sst5_queries):
    with registered(RETRIEVERS, "overlap", WordOverlap):
        with pytest.raises(AssertionError):
            check_retriever("overlap", corpus, sst5_queries)


def test_toy_lm_backend():
    with registered(BACKENDS, "toy", ToyLM):
        lm = get_backend("toy:bigram")
        assert lm.name == "toy:bigram"
        check_lm_backend(lm)
        check_backend_spec("toy")
        check_unknown_backend_spec()  # names "toy" among the schemes


def test_broken_lm_backend_fails():
    with pytest.raises(AssertionError):
        check_lm_backend(UnseededLM("unseeded"))


def test_toy_skill_predictor(gsm_retriever, gsm_queries):
    vocab = vocabulary_from(ex.skills for ex in gsm_retriever.corpus)
    with registered(PREDICTORS, "vocabulary_order", VocabularyOrder):
        check_predictor("vocabulary_order", gsm_retriever, vocab, gsm_queries)


def test_broken_skill_predictor_fails(gsm_retriever, gsm_queries):
    vocab = vocabulary_from(ex.skills for ex in gsm_retriever.corpus)
    with registered(PREDICTORS, "outside_vocabulary", OutsideVocabulary):
        with pytest.raises(AssertionError, match="outside the vocabulary"):
            check_predictor("outside_vocabulary", gsm_retriever, vocab, gsm_queries)


TOY_TEMPLATE = PromptTemplate(
    name="qa_toy", instruction="Answer each question.", input="Q: {question}\nA:", output=" {answer}"
)


def test_toy_template(template_samples):
    sample = {"question": "What is the capital of France?", "answer": "Paris"}
    with registered(TEMPLATES, "qa_toy", TOY_TEMPLATE):
        check_template("qa_toy", sample)
        with pytest.raises(AssertionError, match="qa_toy"):  # the sample table must grow
            check_template_samples_cover(TEMPLATES.names(), template_samples)
    check_template_samples_cover(TEMPLATES.names(), template_samples)


def test_template_sample_missing_a_field_fails():
    with registered(TEMPLATES, "qa_toy", TOY_TEMPLATE):
        with pytest.raises(AssertionError, match="lacks fields"):
            check_template("qa_toy", {"question": "Why?"})
