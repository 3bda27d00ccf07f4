"""EvalConfig: protocol defaults, YAML loading, overrides and errors that name the bad key/value."""

from __future__ import annotations

import pytest

from fewshot.evaluation import EvalConfig, load_config
from fewshot.exceptions import InvalidInputError


def test_defaults_are_the_research_protocol():
    cfg = EvalConfig()
    assert (cfg.pool_size, cfg.test_size, cfg.budgets, cfg.seeds) == (3000, 256, [18, 100], [0, 1, 2])
    assert cfg.methods == ["random", "votek", "ideal"]
    assert cfg.retrievers == ["dense"] and cfg.scorers == ["proxy"] and cfg.center is True
    assert EvalConfig.from_dict(cfg.to_dict()) == cfg


def test_yaml_with_overrides_and_comma_lists(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text(
        "datasets: [sst5, trec]\nbudgets: [5, 10]\nseeds: 0\nscorers: both\n"
        "method_params: {votek: {k: 20}}\nlimit: 16\n",
        encoding="utf-8",
    )
    cfg = load_config(path, methods="random,votek", budgets=None, out=str(tmp_path / "o"))
    assert cfg.datasets == ["sst5", "trec"]
    assert cfg.methods == ["random", "votek"]
    assert cfg.budgets == [5, 10] and cfg.seeds == [0]
    assert cfg.scorers == ["proxy", "lm"]
    assert cfg.method_params == {"votek": {"k": 20}} and cfg.limit == 16
    assert cfg.cache_path == tmp_path / "o" / "cache"


def test_dataset_mapping_is_accepted():
    cfg = EvalConfig(datasets=[{"name": "mine", "path": "x.csv", "label_field": "y"}], budgets=[5], pool_size=100)
    assert cfg.datasets[0]["name"] == "mine"


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"budget_list": [1]}, "budget_list"),
        ({"methods": "random,nope"}, "'nope'"),
        ({"methods": ["votek2"]}, "'votek2'"),
        ({"budgets": "18,abc"}, "budgets value"),
        ({"budgets": [0]}, "budgets value"),
        ({"budgets": [18, 18]}, "duplicates"),
        ({"budgets": [5000]}, "exceeds pool_size"),
        ({"seeds": [-1]}, "seeds value"),
        ({"scorers": "gpt"}, "'gpt'"),
        ({"retrievers": ["faiss"]}, "'faiss'"),
        ({"datasets": ["imdb"]}, "'imdb'"),
        ({"datasets": [{"path": "x.jsonl"}]}, "'name'"),
        ({"datasets": ["sst5", "sst5"]}, "duplicate"),
        ({"pool_size": "big"}, "pool_size"),
        ({"k": 0}, "k must be >= 1"),
        ({"limit": 0}, "limit"),
        ({"center": "yes"}, "center"),
        ({"method_params": {"votek": {"kk": 3}}}, "kk"),
        ({"method_params": {"nope": {}}}, "'nope'"),
        ({"lm_options": [1]}, "lm_options"),
    ],
)
def test_bad_values_are_named(data, needle):
    with pytest.raises(InvalidInputError) as info:
        EvalConfig.from_dict(data)
    assert needle in str(info.value)


def test_bad_yaml_files(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="mapping"):
        load_config(bad)
    bad.write_text("budgets: [1\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="YAML"):
        load_config(bad)
