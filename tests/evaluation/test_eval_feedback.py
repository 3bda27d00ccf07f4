"""Two-stage vote-k in the evaluation: its stage-2 confidence comes from the config's LM, which
sees the gold labels of the selected items only (the paper's protocol)."""

from __future__ import annotations

import pytest

from fewshot.evaluation import EvalConfig, run_eval
from fewshot.exceptions import InvalidInputError


def test_votek2_needs_the_lm_scorer(mini_data, tmp_path):
    with pytest.raises(InvalidInputError, match="'votek2' needs a confidence function.*lm scorer"):
        EvalConfig(datasets=["sst5"], methods=["votek2"], budgets=[5], pool_size=40, data_dir=str(mini_data))


def test_votek2_selects_with_lm_confidence_and_resumes(mini_data, embedder, tiny_lm_dir, tmp_path, one_torch_thread):
    cfg = EvalConfig(
        datasets=["sst5"],
        methods=["random", "votek2"],
        method_params={"votek2": {"k": 10, "stage1_size": 2}},
        budgets=[5],
        seeds=[0],
        pool_size=40,
        test_size=6,
        k=2,
        scorers=["proxy", "lm"],
        lm=f"hf:{tiny_lm_dir}",
        lm_options={"device": "cpu"},
        max_tokens=200,
        data_dir=str(mini_data),
        out=str(tmp_path),
    )
    result = run_eval(cfg, embedder=embedder)
    runs = [r for r in result.runs if r.method == "votek2"]
    assert {r.scorer for r in runs} == {"proxy", "lm"}
    assert all(len(set(r.selected_ids)) == 5 and len(r.correct) == 6 for r in runs)
    assert (cfg.cache_path / "confidence.sqlite").is_file()  # 38 candidates scored by the LM
    assert result.stats.selections_computed == 2
    again = run_eval(cfg, embedder=embedder)
    assert again.stats.selections_cached == 2 and again.stats.lm_computed == 0
    assert [r.selected_ids for r in again.runs] == [r.selected_ids for r in result.runs]
