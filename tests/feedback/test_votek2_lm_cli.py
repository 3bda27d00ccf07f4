"""``fewshot select --method votek2 --lm SPEC``: a round scored by a tiny real LM, its help listing
the registered LM specs, and the refusals (exit 5) naming what is wrong."""

from __future__ import annotations

import json

from cli_helpers import run

N_ITEMS, N_LABELED = 40, 10  # conftest's pool file


def test_select_votek2_with_lm(tmp_path, pool_file, feedback_lm_dir, embedder):
    from fewshot import Workspace

    home, spec = tmp_path / "home", f"hf:{feedback_lm_dir}"
    with Workspace.open(home) as ws:  # embedded with the session's loaded model (the CLI would load its own)
        ws.use_embedder(embedder)
        ws.ingest("sst5", pool_file, label_field="label_text")
        ws.embed("sst5")
    out = run(home, "select", "sst5", "--method", "votek2", "--lm", spec, "--budget", "4", "--k", "10", "--json")
    rnd = json.loads(out.stdout)
    assert rnd["method"] == "votek2" and len(rnd["items"]) == 4
    p = rnd["params"]
    assert p["lm"] == spec and p["confidence"] == "lm" and p["stage1_size"] == 0
    assert (p["lm_computed"], p["lm_cached"]) == (N_ITEMS - N_LABELED, 0)
    assert "LM confidence" in out.stderr  # the scoring's progress bar

    shown = run(home, "select", "sst5", "--method", "votek2", "--lm", spec, "--budget", "2", "--k", "10")
    # round 2: the same labeled demonstrations for the items left, so every answer is cached
    said = " ".join(shown.stderr.split())
    assert "0 answers scored," in said and f"{N_ITEMS - N_LABELED - 4} from the cache" in said

    wrong = run(home, "select", "sst5", "--method", "votek", "--lm", spec, "--budget", "2", ok=False)
    assert wrong.exit_code == 5 and "lm is only used by votek2" in wrong.stderr
    both = run(
        home, "select", "sst5", "--method", "votek2", "--lm", spec, "--confidence", "similarity", "-b", "2", ok=False
    )
    assert both.exit_code == 5 and "not both" in both.stderr


def test_select_help_lists_lm_specs(tmp_path):
    from fewshot.lm import BACKEND_SPECS

    text = " ".join(run(tmp_path, "select", "--help").stdout.split())
    assert "--lm" in text and all(spec.split(":")[0] in text for spec in BACKEND_SPECS)
