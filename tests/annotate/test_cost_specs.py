"""Cost specs: parsing, evaluation on items, and errors that name the item."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fewshot.annotate import CostTerm, item_costs, parse_cost_spec
from fewshot.exceptions import InvalidInputError


def test_parse_forms():
    assert parse_cost_spec("2.5").terms == (CostTerm("constant", 2.5),)
    assert parse_cost_spec("constant:3").terms == (CostTerm("constant", 3.0),)
    assert parse_cost_spec("words:0.5/60").terms == (CostTerm("words", 0.5 / 60),)
    assert parse_cost_spec("tokens:0.002").terms == (CostTerm("tokens", 0.002),)
    assert parse_cost_spec("field:minutes").terms == (CostTerm("field", 1.0, "minutes"),)
    assert parse_cost_spec("field:seconds*1/60").terms == (CostTerm("field", 1 / 60, "seconds"),)
    spec = parse_cost_spec(" 1 + words : 0.5/60 ")
    assert spec.text == "1+words:0.5/60" and parse_cost_spec(spec.text) == spec
    assert parse_cost_spec("1e-3").terms[0].rate == 0.001


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "non-empty string"),
        ("words", "'words' is not a rate"),
        ("words:", "'' is not a rate"),
        ("words:-1", "'-1' is not a rate"),
        ("words:0", "rate '0' must be a finite number > 0"),
        ("words:1/0", "division by zero"),
        ("pages:3", "unknown term 'pages:3'"),
        ("field:", "is not a field name"),
        ("1++2", "empty term"),
    ],
)
def test_bad_specs_name_the_part(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_cost_spec(spec)


def test_evaluation_on_real_items(data_dir):
    from shared_data import read_jsonl

    rows = read_jsonl(data_dir / "sst5" / "train.jsonl", 50)
    items = [(r["id"], r["text"], {"minutes": 0.5 + i % 3}) for i, r in enumerate(rows)]
    words = item_costs("words:0.5/60", items)
    assert words.tolist() == [len(r["text"].split()) * (0.5 / 60) for r in rows]
    both = item_costs("1+field:minutes*2", items)
    assert both.tolist() == [1 + 2 * (0.5 + i % 3) for i in range(50)]
    assert item_costs("chars:0.01", items).tolist() == pytest.approx([len(r["text"]) * 0.01 for r in rows])
    tokens = item_costs("tokens:0.002", items, count_tokens=lambda texts: [len(t) // 4 + 1 for t in texts])
    assert tokens.tolist() == pytest.approx([(len(r["text"]) // 4 + 1) * 0.002 for r in rows])


@pytest.mark.parametrize(
    "fields, spec, message",
    [
        ({}, "field:minutes", "item 'b' has no cost field 'minutes'"),
        ({"minutes": None}, "field:minutes", "item 'b' has no cost field 'minutes'"),
        ({"minutes": "soon"}, "field:minutes", "item 'b': cost field 'minutes' must be a number; got 'soon'"),
        ({"minutes": True}, "field:minutes", "item 'b': cost field 'minutes' must be a number"),
        ({"minutes": [1]}, "field:minutes", "item 'b': cost field 'minutes' must be a number"),
        ({"minutes": -2}, "field:minutes", "item 'b' costs -2.0"),
        ({"minutes": 0}, "field:minutes", "item 'b' costs 0.0"),
        ({"minutes": "nan"}, "field:minutes", "item 'b' costs nan"),
        ({"minutes": math.inf}, "field:minutes", "item 'b' costs inf"),
    ],
)
def test_bad_item_costs_name_the_item(fields, spec, message):
    items = [("a", "fine text", {"minutes": 1}), ("b", "bad text", fields)]
    with pytest.raises(InvalidInputError, match=message):
        item_costs(spec, items)


def test_an_empty_text_costs_nothing_under_a_pure_length_spec():
    with pytest.raises(InvalidInputError, match="item 'empty' costs 0.0"):
        item_costs("words:1", [("empty", "   ", {})])
    assert item_costs("0.1+words:1", [("empty", "   ", {})]).tolist() == [0.1]


def test_tokens_need_a_counter():
    with pytest.raises(InvalidInputError, match="counts tokens"):
        item_costs("tokens:1", [("a", "x", {})])
    assert isinstance(item_costs("2", []), np.ndarray)
