"""`fewshot select --approx/--nprobe/--nlist`: the graph methods build an approximate graph and
the round records it; bad values and methods without a graph fail with a message."""

from __future__ import annotations

import json

from cli_helpers import run
from shared_data import read_jsonl


def test_select_with_an_ivf_graph(tmp_path, data_dir):
    src = tmp_path / "sst5.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(data_dir / "sst5" / "train.jsonl", 150)))
    home = tmp_path / "home"
    run(home, "ingest", "sst5", src)
    run(home, "embed", "sst5")
    out = run(home, "select", "sst5", "-b", "5", "--k", "10", "--approx", "ivf", "--nprobe", "4", "--json")
    rnd = json.loads(out.stdout)
    assert rnd["params"]["approx"] == "ivf" and rnd["params"]["nprobe"] == 4
    assert rnd["params"]["exact_graph"] is False and len(rnd["items"]) == 5
    bad = run(home, "select", "sst5", "-b", "5", "--approx", "annoy", ok=False)
    assert bad.exit_code != 0 and "approx must be one of ivf, hnsw; got 'annoy'" in bad.output
    bad = run(home, "select", "sst5", "-b", "5", "--method", "random", "--nprobe", "3", ok=False)
    assert bad.exit_code != 0 and "nprobe" in bad.output
    assert len(json.loads(run(home, "rounds", "sst5", "--json").stdout)) == 1  # failures stored nothing
    assert "IVF lists scanned per item" in run(home, "select", "--help").output
