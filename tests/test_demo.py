"""The main job (`fewshot demo`) on the bundled sample, end to end through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fewshot.cli import app


def test_demo_runs_every_step(tmp_path):
    home = tmp_path / "demo"
    result = CliRunner().invoke(app, ["--home", str(home), "demo", "--budget", "40"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("ingest", "embed", "budget", "select", "label", "index", "prompt"):
        assert step in out
    assert "2000 movie-review sentences" in out.replace("\n", " ") or "movie-review" in out
    assert "40 labels taken from the sample" in out.replace("\n", " ")
    assert (home / "demo-budget.png").exists()
    prompt_id = out.split("prompts show")[-1].split()[0]
    shown = CliRunner().invoke(app, ["--home", str(home), "prompts", "show", prompt_id])
    log = json.loads(shown.output)
    assert log["pool"] == "sst5-demo" and len(log["demo_ids"]) == 8
