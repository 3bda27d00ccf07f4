"""Embedding on Ray writes the same content-addressed shards as the local path: vectors equal,
interrupted runs resume, nothing is embedded twice; without Ray the error names the extra."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_ray_embedded_vectors_equal_local_ones_and_runs_resume(ray_session, ws, data_slice, tmp_path):
    from fewshot.service.ray_embed import ray_embed

    path = data_slice("sst5", "train", 120)
    ws.ingest("local", path)
    ws.ingest("on-ray", path)
    local = ws.embed("local")
    assert local.embedded == 120
    first = ray_embed(ws, "on-ray", shard_size=50, num_actors=2)
    assert (first.embedded, first.cached, first.total, first.dim) == (120, 0, 120, local.dim)
    _, xl = ws.embeddings.vectors("local")
    _, xr = ws.embeddings.vectors("on-ray")
    assert xr.shape == xl.shape and np.allclose(_cosines(xl, xr), 1.0, atol=1e-5)
    store = ws.embeddings.store("on-ray")
    assert len(store._shard_numbers()) == 3  # shards of 50, 50, 20 written by the driver
    again = ray_embed(ws, "on-ray")
    assert (again.embedded, again.cached) == (0, 120)  # nothing embedded twice
    # an interrupted run: drop the last shard, the next run embeds only its texts
    last = store._shard_numbers()[-1]
    (store.path / f"shard-{last:06d}.keys.npy").unlink()
    (store.path / f"shard-{last:06d}.npy").unlink()
    store._loaded = None
    resumed = ray_embed(ws, "on-ray", shard_size=50)
    assert (resumed.embedded, resumed.cached) == (20, 100)
    # the locally written pool is complete for the Ray path and vice versa
    assert ray_embed(ws, "local").embedded == 0 and ws.embed("on-ray").embedded == 0
