"""Issue 12, item 2: templates are a small safe language, the same for ingest and prompts.

Named fields only; a format spec is ``[[fill]align][width][.precision][type]`` with width and
precision at most 200; the rendered text of one item is capped.
"""

from __future__ import annotations

import pytest

from fewshot.exceptions import IngestError, InvalidInputError
from fewshot.io import FieldMapping
from fewshot.prompt import PromptTemplate
from fewshot.prompt._tokens import get_token_counter

MAX_SPEC_WIDTH = 200  # fewshot.templating.MAX_SPEC_WIDTH

UNSAFE = [
    "{text:>20000000}",  # the AMP reproducer: 20 MB per item
    "{text:.20000000}",
    "{text:>201}",
    "{text.__class__.__mro__}",  # attribute access
    "{text.__class__}",
    "{text[0]}",  # indexing
    "{0}",  # positional
    "{}",
    "{text!r}",  # conversion
    "{text:{w}}",  # nested field in a spec
    "{text:,}",  # grouping
    "{text:x}",  # other types
    "{text:+d}",  # sign
    "{text:#x}",
    "{text:010}",
]


@pytest.mark.parametrize("template", UNSAFE)
def test_unsafe_ingest_templates_are_refused(template):
    with pytest.raises(IngestError, match="template"):
        FieldMapping(template=template)


@pytest.mark.parametrize("template", UNSAFE)
def test_unsafe_prompt_templates_are_refused(template):
    with pytest.raises(InvalidInputError, match="template"):
        PromptTemplate(name="t", input=template, output=" {label}")
    with pytest.raises(InvalidInputError, match="template"):
        PromptTemplate(name="t", input="{text}", output=template)


@pytest.mark.parametrize(
    ("template", "record", "text"),
    [
        ("{premise}\nquestion: {hypothesis}", {"premise": "p", "hypothesis": "h"}, "p\nquestion: h"),
        ("[{text:>5}]", {"text": "ab"}, "[   ab]"),
        ("[{text:*<5}]", {"text": "ab"}, "[ab***]"),
        ("[{text:^6.3}]", {"text": "abcdef"}, "[ abc  ]"),
        ("{score:.2f} {text}", {"score": 0.12345, "text": "t"}, "0.12 t"),
        ("{{literal}} {text:s}", {"text": "t"}, "{literal} t"),
        (f"[{{text:>{MAX_SPEC_WIDTH}}}]", {"text": "x"}, "[" + "x".rjust(MAX_SPEC_WIDTH) + "]"),
    ],
)
def test_safe_templates_render_the_same_on_both_sides(template, record, text):
    assert FieldMapping(template=template).apply(record).text == text
    assert PromptTemplate(name="t", input=template, output="").render_input(record) == text


def test_attribute_access_never_reaches_stored_rows():
    """``{text.__class__.__mro__}`` used to render the class tuple into stored rows."""
    with pytest.raises(IngestError, match="plain field name"):
        FieldMapping(template="{text.__class__.__mro__}").apply({"text": "x"})


def test_numeric_type_on_text_is_a_typed_error():
    mapping = FieldMapping(template="{score:.2f}")
    with pytest.raises(IngestError, match="line 7.*score"):
        mapping.apply({"score": "high"}, line=7)
    with pytest.raises(InvalidInputError, match="score"):
        PromptTemplate(name="t", input="{score:.2f}", output="").render_input({"score": "high"})


def test_rendered_length_is_capped_per_item():
    big = "x" * 150
    mapping = FieldMapping(template="{a}{b}")
    assert mapping.apply({"a": big, "b": big}, max_chars=300).text == big + big
    with pytest.raises(IngestError, match=r"line 3.*above the limit of 299"):
        mapping.apply({"a": big, "b": big}, line=3, max_chars=299)
    with pytest.raises(IngestError, match=r"line 4, field 'text'.*above the limit"):
        FieldMapping().apply({"text": "y" * 101}, line=4, max_chars=100)
    tpl = PromptTemplate(name="t", input="{a}{b}", output="", max_chars=299)
    with pytest.raises(InvalidInputError, match="above the limit"):
        tpl.render_input({"a": big, "b": big})
    # the default cap
    with pytest.raises(IngestError, match="above the limit of 100,000"):
        FieldMapping().apply({"text": "z" * 100_001})


def test_render_template_checks_length_as_it_grows():
    from fewshot.templating import compile_template, render_template

    parts = compile_template("{a}{a}{a}")
    assert render_template(parts, {"a": "xy"}.__getitem__, max_chars=6) == "xyxyxy"
    with pytest.raises(InvalidInputError, match="limit of 5"):
        render_template(parts, {"a": "xy"}.__getitem__, max_chars=5)


@pytest.mark.parametrize("spec", ["approx:abc", "approx:nan", "approx:inf", "approx:5e-324", "approx:-2", "approx:0"])
def test_bad_approx_tokenizer_numbers_are_invalid_input(spec):
    with pytest.raises(InvalidInputError, match="approx"):
        get_token_counter(spec)


def test_good_approx_tokenizer_numbers():
    assert get_token_counter("approx:3.5").name == "approx:3.5"
    assert get_token_counter("approx").name == "approx:4"


# -- the service surface ----------------------------------------------------------------------


@pytest.mark.parametrize("template", ["{text:>20000000}", "{text.__class__.__mro__}"])
def test_service_refuses_unsafe_templates_and_stores_nothing(ws, template):
    with pytest.raises(InvalidInputError, match="template"):
        ws.create_pool("amp", template=template)
    with pytest.raises(InvalidInputError, match="template"):
        ws.add_records("amp2", [{"text": "a"}, {"text": "b"}], template=template, create=True)
    assert [p.name for p in ws.list_pools()] == []
