"""The CLI end to end: CliRunner for the commands, a real process for kill -9 recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from cli_helpers import run, runner

from fewshot.cli import app


def test_every_command_has_help():
    for args in (["--help"], ["pools", "--help"], ["ingest", "--help"], ["embed", "--help"], ["export", "--help"],
                 ["examples", "list", "--help"], ["pools", "create", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_ingest_embed_list_export(tmp_path, data_slice):
    home = tmp_path / "home"
    src = data_slice("rte", "train", 40)
    out = run(home, "ingest", "rte", src, "--template", r"{premise}\nquestion: {hypothesis}",
              "--label-field", "label_text").output
    assert "added 40 (40 labeled)" in out
    assert "added 0" in run(home, "ingest", "rte", src, "--label-field", "label_text").output
    assert "embedded 40 texts, 0 already cached, dim 384" in run(home, "embed", "rte").output
    listed = run(home, "examples", "list", "rte", "--limit", "2", "--json").output.strip().splitlines()
    first = json.loads(listed[0])
    assert first["text"].count("\nquestion: ") == 1 and first["status"] == "labeled"
    run(home, "export", "rte", "--out", tmp_path / "rte.csv", "--format", "csv")
    assert (tmp_path / "rte.csv").read_text().startswith("id,text,label")
    assert "rte" in run(home, "pools", "list").output
    assert json.loads(run(home, "pools", "show", "rte").output)["size"] == 40
    run(home, "pools", "delete", "rte", "--yes")
    assert "rte" not in run(home, "pools", "list").output


def test_errors_exit_non_zero_with_a_message(tmp_path):
    home = tmp_path / "home"
    result = run(home, "pools", "show", "missing", ok=False)
    assert result.exit_code == 1 and "pool 'missing' does not exist" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": 3}\n')
    result = run(home, "ingest", "p", bad, ok=False)
    assert result.exit_code == 1 and "line 2, field 'text': expected a string, got int" in result.output
    assert "Traceback" not in result.output
    result = run(home, "examples", "list", "p", ok=False)  # the failed ingest created nothing
    assert result.exit_code == 1 and "no pools exist yet" in result.output


def test_kill_9_during_embedding_then_rerun_finishes(tmp_path, data_slice):
    home = tmp_path / "home"
    src = data_slice("sst5", "train", 600)
    run(home, "ingest", "sst5", src)
    env = {**os.environ, "FEWSHOT_HOME": str(home), "FEWSHOT_EMBED_CHUNK_SIZE": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "fewshot.cli", "embed", "sst5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shard_dir = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        shards = list((home / "vectors").glob("pool-*/*/shard-*.keys.npy"))
        if shards:
            shard_dir = shards[0].parent
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert shard_dir is not None, "embedding never wrote a shard"
    done_before = len(list(shard_dir.glob("shard-*.keys.npy")))
    assert 1 <= done_before < 6
    out = run(home, "embed", "sst5").output
    assert f"{100 * done_before} already cached" in out.replace("\n", " ")
    from fewshot import Workspace

    ids, X = Workspace.open(home).vectors("sst5")
    assert X.shape == (600, 384)


def test_full_selection_round_trip(tmp_path, data_slice):
    home = tmp_path / "home"
    src = data_slice("sst5", "train", 200)
    gold = {r["id"]: r["label_text"] for r in map(json.loads, src.read_text().splitlines())}
    run(home, "ingest", "sst5", src)
    run(home, "embed", "sst5")
    out = run(home, "budget", "sst5", "--budgets", "5,10,20", "--plot", tmp_path / "b.png").output
    assert "recommended budget:" in out and (tmp_path / "b.png").exists()
    assert "round 1: 10 items selected with votek" in run(home, "select", "sst5", "--budget", "10", "--k", "20").output
    run(home, "export", "sst5", "--round", "1", "--format", "labelstudio", "--out", tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert len(tasks) == 10
    for t in tasks:  # what an annotator's Label Studio export looks like
        t["annotations"] = [{"result": [{"type": "choices", "from_name": "sentiment", "to_name": "text",
                                         "value": {"choices": [gold[t["data"]["fewshot_id"]]]}}]}]
    (tmp_path / "done.json").write_text(json.dumps(tasks))
    assert "applied 10" in run(home, "import-labels", "sst5", tmp_path / "done.json").output
    assert "applied 0, unchanged 10" in run(home, "import-labels", "sst5", tmp_path / "done.json").output
    assert "round 2" in run(home, "select", "sst5", "--budget", "10", "--method", "ideal").output
    rounds = run(home, "rounds", "sst5").output
    assert "votek" in rounds and "ideal" in rounds
    labeled = run(home, "examples", "list", "sst5", "--status", "labeled", "--json", "--limit", "50").output
    assert len(labeled.strip().splitlines()) == 10
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "ghost", "label": "x"}) + "\n")
    result = run(home, "import-labels", "sst5", bad, ok=False)
    assert result.exit_code == 1 and "id 'ghost': no item with this id" in result.output
