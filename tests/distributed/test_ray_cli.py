"""``fewshot embed POOL --ray [--ray-address ADDRESS]``: without the ray extra it exits 7 naming the extra (no Ray needed
for this test); with Ray it embeds like the local command."""

from __future__ import annotations

import json
import sys

import pytest
from cli_helpers import run


def test_embed_with_ray_but_without_the_extra_names_it(tmp_path, data_slice, monkeypatch):
    run(tmp_path, "ingest", "p", data_slice("sst5", "train", 5))
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = run(tmp_path, "embed", "p", "--ray", ok=False)
    assert result.exit_code == 7
    assert "pip install 'fewshot[ray]'" in result.output
    result = run(tmp_path, "embed", "p", "--ray", "--ray-address", "10.0.0.1:6379", ok=False)
    assert result.exit_code == 7


@pytest.mark.slow
def test_embed_with_ray_writes_the_pool_vectors(ray_session, tmp_path, data_slice):
    run(tmp_path, "ingest", "p", data_slice("sst5", "train", 40))
    out = json.loads(run(tmp_path, "embed", "p", "--ray", "--ray-address", "local", "--json").stdout)
    assert (out["embedded"], out["cached"], out["dim"]) == (40, 0, 384)
    out = json.loads(run(tmp_path, "embed", "p", "--json").stdout)  # the local command sees them
    assert (out["embedded"], out["cached"]) == (0, 40)
