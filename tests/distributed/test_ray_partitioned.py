"""Partitioned selection with its partitions as Ray tasks picks what the serial run picks."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("final", ["greedy", "merge"])
def test_partitions_on_ray_give_the_serial_selection(ray_session, final):
    from fewshot.annotate._partitioned import partitioned_select, ray_map

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, 16))
    X = centers[rng.integers(0, 10, 1500)] + 0.5 * rng.normal(size=(1500, 16))
    serial = partitioned_select(X, 30, "votek", n_partitions=6, labeled=[1, 2], final=final, k=20)
    on_ray = partitioned_select(X, 30, "votek", n_partitions=6, labeled=[1, 2], final=final, map_fn=ray_map, k=20)
    assert np.array_equal(on_ray.indices, serial.indices) and np.array_equal(on_ray.scores, serial.scores)
