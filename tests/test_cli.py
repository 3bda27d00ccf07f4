"""The CLI end to end: CliRunner for the commands, a real process for kill -9 recovery."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from cli_helpers import run, runner

from fewshot.cli import app


def test_every_command_has_help():
    for args in (
        ["--help"],
        ["pools", "--help"],
        ["ingest", "--help"],
        ["embed", "--help"],
        ["export", "--help"],
        ["examples", "list", "--help"],
        ["pools", "create", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_ingest_embed_list_export(tmp_path, data_slice):
    home = tmp_path / "home"
    src = data_slice("rte", "train", 40)
    out = run(
        home, "ingest", "rte", src, "--template", r"{premise}\nquestion: {hypothesis}", "--label-field", "label_text"
    ).output
    assert "added 40 (40 labeled)" in out
    assert "added 0" in run(home, "ingest", "rte", src, "--label-field", "label_text").output
    assert "embedded 40 texts, 0 already cached, dim 384" in run(home, "embed", "rte").output
    listed = run(home, "examples", "list", "rte", "--limit", "2", "--json").stdout.strip().splitlines()
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
    assert result.exit_code == 3 and "pool 'missing' does not exist" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": 3}\n')
    result = run(home, "ingest", "p", bad, ok=False)
    assert result.exit_code == 5 and "line 2, field 'text': expected a string, got int" in result.output
    assert "Traceback" not in result.output
    result = run(home, "examples", "list", "p", ok=False)  # the failed ingest created nothing
    assert result.exit_code == 3 and "no pools exist yet" in result.output


def test_kill_9_during_embedding_then_rerun_finishes(tmp_path, data_slice):
    home = tmp_path / "home"
    src = data_slice("sst5", "train", 600)
    run(home, "ingest", "sst5", src)
    env = {**os.environ, "FEWSHOT_HOME": str(home), "FEWSHOT_EMBED_CHUNK_SIZE": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fewshot", "embed", "sst5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
        t["annotations"] = [
            {
                "result": [
                    {
                        "type": "choices",
                        "from_name": "sentiment",
                        "to_name": "text",
                        "value": {"choices": [gold[t["data"]["fewshot_id"]]]},
                    }
                ]
            }
        ]
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
    assert result.exit_code == 5 and "id 'ghost': no item with this id" in result.output


# ------------------------------------------------------------------ help, version, exit codes, registries
def test_help_keeps_square_brackets_and_documents_exit_codes():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "[default: ./.fewshot]" in result.output
    assert "Exit codes:" in result.output
    for line in (
        "2  usage",
        "3  not found",
        "4  conflict",
        "5  invalid input",
        "6  the language-model backend",
        "7  an optional dependency",
    ):
        assert line in result.output


def test_version_and_python_dash_m():
    from fewshot import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"fewshot {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "fewshot", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "ingest" in proc.stdout and "Exit codes:" in proc.stdout


def test_exit_codes_map_the_exception_tree(tmp_path, monkeypatch):
    from fewshot.exceptions import (
        ConflictError,
        CorruptArtifactError,
        FewshotError,
        IngestError,
        InvalidInputError,
        LMBackendError,
        MissingDependencyError,
        NotFoundError,
    )
    from fewshot.service.labels import LabelImportError, LabelImportReport
    from fewshot.service.workspace import Workspace

    home = tmp_path / "home"
    # real errors: click's usage error, not found, conflict, invalid input
    assert run(home, "select", "p", ok=False).exit_code == 2  # --budget missing
    assert run(home, "budget", "p", "--budgets", "5,x", ok=False).exit_code == 2
    assert run(home, "pools", "show", "missing", ok=False).exit_code == 3
    run(home, "pools", "create", "p")
    dup = run(home, "pools", "create", "p", ok=False)
    assert dup.exit_code == 4 and "Error:" in dup.stderr and "Error:" not in dup.stdout
    bad = run(home, "select", "p", "--budget", "1", "--method", "nope", ok=False)
    assert bad.exit_code == 5 and "unknown selection method 'nope'" in bad.stderr

    cases = [
        (NotFoundError("gone"), 3),
        (ConflictError("taken"), 4),
        (CorruptArtifactError("broken index"), 4),
        (InvalidInputError("bad"), 5),
        (IngestError("bad record", path="f.jsonl", line=2), 5),
        (LabelImportError(LabelImportReport(pool="p")), 5),
        (LMBackendError("server said 500"), 6),
        (MissingDependencyError("faiss", "gpu"), 7),
        (FewshotError("other"), 1),
    ]
    for exc, code in cases:

        def fail(self, exc=exc):
            raise exc

        monkeypatch.setattr(Workspace, "list_pools", fail)
        result = run(home, "pools", "list", ok=False)
        assert result.exit_code == code, (type(exc).__name__, result.output)
        assert str(exc).splitlines()[0] in result.stderr and "Traceback" not in result.output


def test_registered_selection_methods_and_retrievers_reach_the_cli(tmp_path, data_slice):
    from cli_helpers import registered

    from fewshot.annotate import STRATEGIES, RandomSelection
    from fewshot.retrieve import RETRIEVERS, RandomRetriever

    class ToySelect(RandomSelection):
        name = "toy_select"

    class ToyRank(RandomRetriever):
        name = "toy_rank"

    home = tmp_path / "home"
    src = data_slice("sst5", "train", 30)
    with registered(STRATEGIES, "toy_select", ToySelect), registered(RETRIEVERS, "toy_rank", ToyRank):
        wide = {"COLUMNS": "250"}
        assert "toy_select" in run(home, "select", "--help", env=wide).output  # help reads the registry now
        assert "toy_rank" in run(home, "retrieve", "--help", env=wide).output
        run(home, "ingest", "sel", src)
        run(home, "embed", "sel")
        out = run(home, "select", "sel", "--method", "toy_select", "--budget", "4").output
        assert "round 1: 4 items selected with toy_select" in out

        run(home, "ingest", "ret", src, "--label-field", "label_text")
        run(home, "index", "ret")
        res = json.loads(
            run(home, "retrieve", "ret", "a gorgeous movie", "-k", "3", "--retriever", "toy_rank", "--json").stdout
        )
        assert res["query"] == "a gorgeous movie" and len(res["demos"]) == 3
        assert {"id", "score", "rank", "text", "label", "skills"} <= set(res["demos"][0])
        out = run(home, "prompt", "ret", "a gorgeous movie", "-k", "2", "--retriever", "toy_rank").output
        prompt_id = re.search(r"prompt ([0-9a-f]{32}):", out).group(1)
        log = json.loads(run(home, "prompts", "show", prompt_id).stdout)
        assert log["retriever"] == "toy_rank" and len(log["demo_ids"]) == 2
    bad = run(home, "retrieve", "ret", "q", "--retriever", "toy_rank", ok=False)  # unregistered again
    assert bad.exit_code == 5 and "toy_rank" in bad.stderr


def test_keys_create_list_revoke(tmp_path):
    home = tmp_path / "home"
    created = run(home, "keys", "create", "ci", "--pool", "sst5")
    secret = created.stdout.strip()  # the secret alone on stdout; the message on stderr
    assert "pools: sst5" in created.stderr and len(secret) > 20 and "\n" not in secret
    listed = run(home, "keys", "list").stdout
    assert "ci" in listed and secret not in listed
    key_id = created.stderr.split()[1]
    assert f"revoked key {key_id} (ci)" in run(home, "keys", "revoke", key_id).stderr
    assert run(home, "keys", "revoke", "999", ok=False).exit_code == 3
