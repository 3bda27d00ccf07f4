"""`fewshot eval`: a YAML config plus option overrides, the printed table, the written files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fewshot.cli import app
from fewshot.evaluation import load_config, run_eval


def data_summary(out) -> list[dict]:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["summary"]


def test_eval_command_resumes_a_run_and_prints_the_table(mini_data, embedder, tmp_path):
    cfg_file = tmp_path / "eval.yaml"
    out = tmp_path / "out"
    cfg_file.write_text(
        f"datasets: [sst5]\nmethods: [random, votek]\nbudgets: [5, 10]\nseeds: [0]\n"
        f"pool_size: 150\ntest_size: 20\nk: 4\nmethod_params: {{votek: {{k: 20}}}}\n"
        f"data_dir: {mini_data}\nout: {tmp_path / 'ignored'}\n",
        encoding="utf-8",
    )
    # warm the caches with the session's embedding model, so the CLI loads no model at all
    run_eval(load_config(cfg_file, out=str(out)), embedder=embedder, write=False)

    result = CliRunner().invoke(
        app,
        ["eval", "--config", str(cfg_file), "--out", str(out), "--limit", "10", "--seeds", "0"],
        env={"COLUMNS": "300"},  # one table row per line
    )
    assert result.exit_code == 0, result.output
    assert "accuracy by annotation budget" in result.output and "votek" in result.output
    assert "knn_vote_proxy" in result.output
    # the paired comparison with random: the baseline row, and votek's delta with its interval and verdict
    assert "baseline" in result.output
    votek = [r for r in data_summary(out) if r["method"] == "votek"][0]
    cell = f"{100 * votek['delta_vs_random']:+.1f} [{100 * votek['delta_ci_low']:+.1f}"
    assert cell in result.output and votek["verdict"] in result.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["cache"]["selections_computed"] == 0 and data["cache"]["embeddings_computed"] == 0
    assert data["config"]["limit"] == 10 and len(data["summary"]) == 4
    assert (out / "accuracy_vs_budget.png").exists() and (out / "results.csv").exists()


def test_eval_command_reports_bad_options(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--methods", "random,bogus", "--out", str(tmp_path)])
    assert result.exit_code == 5  # InvalidInputError
    assert "bogus" in result.output
    result = CliRunner().invoke(app, ["eval", "--scorer", "gpt4", "--out", str(tmp_path)])
    assert result.exit_code == 5 and "gpt4" in result.output


def test_eval_without_shared_data_names_the_variable(tmp_path, monkeypatch):
    """A preset with no data folder: exit 3 (not found), naming $FEWSHOT_SHARED_DATA and the path tried."""
    cfg_file = tmp_path / "eval.yaml"
    cfg_file.write_text("datasets: [sst5]\nmethods: [random]\nbudgets: [5]\nseeds: [0]\n", encoding="utf-8")
    monkeypatch.setenv("FEWSHOT_SHARED_DATA", str(tmp_path / "no-data"))
    result = CliRunner().invoke(app, ["eval", "--config", str(cfg_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    text = "".join(result.output.split())  # robust to line wrapping
    assert "$FEWSHOT_SHARED_DATA" in text and str(tmp_path / "no-data") in text and "lib/python" not in text
