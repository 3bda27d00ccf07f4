"""Run the doctests of the evaluation modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fewshot.evaluation._scoring",
    "fewshot.evaluation._report",
    "fewshot.evaluation._paired",
    "fewshot.evaluation._coverage",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
