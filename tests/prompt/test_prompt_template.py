"""Templates and presets."""

from __future__ import annotations

import pytest

import fewshot.prompt as prompt
from fewshot.exceptions import InvalidInputError
from fewshot.prompt import PromptTemplate, get_template
from fewshot.retrieve import Corpus, Example

SST5_WORDS = {0: "terrible", 1: "bad", 2: "okay", 3: "good", 4: "great"}


def test_public_names_exist():
    for name in prompt.__all__:
        assert hasattr(prompt, name), name


def test_classification_preset_with_verbalizer(sst5_rows):
    tpl = get_template("classification", verbalizer=SST5_WORDS)
    ex = Corpus.from_records(sst5_rows[:1])[sst5_rows[0]["id"]]
    assert tpl.render_demo(ex) == f"Review: {ex.text}\nSentiment: {SST5_WORDS[ex.label]}"
    assert tpl.render_input("so dull") == "Review: so dull\nSentiment:"
    assert tpl.input_fields == {"text"} and tpl.output_fields == {"label"}
    with pytest.raises(InvalidInputError, match="verbalizer"):
        tpl.render_output({"text": "x", "label": 9})


def test_missing_field_is_named():
    tpl = PromptTemplate(name="nli", input="Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:", output=" {label}")
    item = Example(id="rte-1", text="t", label="entailment", fields={"premise": "A dog runs."})
    with pytest.raises(InvalidInputError, match="'hypothesis'") as info:
        tpl.render_demo(item)
    assert "rte-1" in str(info.value)
    with pytest.raises(InvalidInputError, match="'label'"):
        PromptTemplate(name="c", input="{text}", output=" {label}").render_output(Example(id=1, text="no label"))


@pytest.mark.parametrize("source", ["{x.__class__}", "{x[0]}", "{0}", "{}", "{x!r}", "{x:{y}}", "{unclosed"])
def test_unsafe_or_malformed_placeholders_are_rejected(source):
    with pytest.raises(InvalidInputError):
        PromptTemplate(name="bad", input=source, output="")


def test_format_spec_and_literal_braces():
    tpl = PromptTemplate(name="t", input="{{json}} {text} ({score:.2f})", output="")
    assert tpl.render_input({"text": "hi", "score": 0.12345}) == "{json} hi (0.12)"
    with pytest.raises(InvalidInputError, match="score"):
        tpl.render_input({"text": "hi", "score": "high"})


def test_multiple_choice_preset():
    tpl = get_template("multiple_choice")
    item = {"id": 3, "text": "2 + 2 = ?", "choices": ["3", "4", "5"], "label": 1}
    assert tpl.render_demo(item) == "Question: 2 + 2 = ?\nA. 3\nB. 4\nC. 5\nAnswer: B"
    assert tpl.render_output({"label": "C"}) == " C"


def test_math_and_generation_presets(gsm8k_rows):
    corpus = Corpus.from_records(gsm8k_rows[:2], text_field="question", label_field=None, output_field="answer")
    ex = corpus[gsm8k_rows[0]["id"]]
    text = get_template("math").render_demo(ex)
    assert text.startswith(f"Question: {ex.text}\nAnswer:") and text.endswith("#### 72")
    assert get_template("generation").render_demo({"text": "a", "output": "b"}) == "Input: a\nOutput: b"


def test_get_template_errors():
    with pytest.raises(InvalidInputError, match="unknown template"):
        get_template("chain")
    with pytest.raises(InvalidInputError):
        get_template("classification", colour="red")
