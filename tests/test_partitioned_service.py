"""Partitioned selection from the service and the CLI: ``partitions`` reaches
`partitioned_select` with the pool's labeled items, the round records it, and misuse is refused
before any work."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from cli_helpers import run

from fewshot.annotate import partitioned_select
from fewshot.exceptions import InvalidInputError, MissingDependencyError


@pytest.fixture
def embedded(ws, data_slice):
    ws.ingest("p", data_slice("sst5", "train", 160))
    ws.embeddings.embed("p")
    return ws


def test_a_partitioned_round_continues_the_pool(embedded):
    ws = embedded
    first = ws.selection.select("p", budget=6, method="facility", k=10)
    rnd = ws.selection.select("p", budget=12, method="votek", k=15, partitions=4, seed=2)
    assert rnd.params["n_partitions"] == 4 and rnd.params["final"] == "merge" and rnd.params["oversample"] == 2.0
    assert sum(rnd.params["partition_sizes"]) == 160
    ids, X = ws.vectors("p")
    chosen = np.flatnonzero(np.isin(ids, [i.example_id for i in first.items]))
    want = partitioned_select(X, 12, "votek", n_partitions=4, labeled=chosen, seed=2, k=15)
    assert [i.example_id for i in rnd.items] == ids[want.indices].tolist()
    assert not {i.example_id for i in rnd.items} & {i.example_id for i in first.items}


def test_partition_misuse_is_refused(embedded, monkeypatch):
    ws = embedded
    with pytest.raises(InvalidInputError, match="give partitions too"):
        ws.selection.select("p", budget=3, ray=True)
    with pytest.raises(InvalidInputError, match="partitions take a count budget"):
        ws.selection.select("p", budget_cost=3.0, cost="1", partitions=2)
    with pytest.raises(InvalidInputError, match="final must be one of auto, greedy, merge"):
        ws.selection.select("p", budget=3, partitions=2, final="best")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match="ray"):
        ws.selection.select("p", budget=3, partitions=2, ray=True)
    assert ws.rounds("p") == []


def test_cli_select_with_partitions(tmp_path, data_dir):
    from shared_data import read_jsonl

    src = tmp_path / "sst5.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(data_dir / "sst5" / "train.jsonl", 120)))
    home = tmp_path / "home"
    run(home, "ingest", "sst5", src)
    run(home, "embed", "sst5")
    out = run(home, "select", "sst5", "-b", "8", "--method", "kmeans", "--partitions", "3", "--json")
    params = json.loads(out.stdout)["params"]
    assert params["n_partitions"] == 3 and params["final"] == "greedy" and len(params["partition_sizes"]) == 3
    bad = run(home, "select", "sst5", "-b", "8", "--partitions", "3", "--final", "best", ok=False)
    assert bad.exit_code != 0 and "final must be one of auto, greedy, merge" in bad.output
    assert "--partitions" in run(home, "select", "--help").output
