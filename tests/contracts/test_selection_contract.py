"""Every registered selection method (`fewshot.annotate.STRATEGIES`) keeps the selection contract
(``checks.SELECTION_CHECKS``) on 120 real SST-5 MiniLM embeddings."""

from __future__ import annotations

import pytest
from checks import SELECTION_CHECKS

from fewshot.annotate import STRATEGIES, select
from fewshot.exceptions import InvalidInputError

METHODS = STRATEGIES.names()  # at collection time: methods registered on import are all checked


@pytest.mark.parametrize("check", SELECTION_CHECKS, ids=lambda f: f.__name__.removeprefix("check_selection_"))
@pytest.mark.parametrize("method", METHODS)
def test_selection_contract(method, check, sst5_vectors, selection_params):
    check(method, sst5_vectors, selection_params(method))


def test_unknown_method_lists_every_name(sst5_vectors):
    with pytest.raises(InvalidInputError) as err:
        select(sst5_vectors, 3, "votekk")
    assert "did you mean 'votek'" in str(err.value)
    for name in METHODS:
        assert name in str(err.value)
