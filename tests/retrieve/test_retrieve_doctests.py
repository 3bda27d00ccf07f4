"""Run the doctests of the retrieval and prompt modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fewshot.retrieve._corpus",
    "fewshot.retrieve._index",
    "fewshot.retrieve._factory",
    "fewshot.prompt._presets",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
