"""Dataset presets and the generic loader (the ingest FieldMapping)."""

from __future__ import annotations

import csv

import pytest

from fewshot.evaluation import DATASETS, answers_match, extract_answer, get_dataset, load_dataset
from fewshot.exceptions import IngestError, InvalidInputError, NotFoundError


def test_presets_cover_the_protocol_datasets():
    assert set(DATASETS) == {"sst5", "trec", "rte", "mrpc", "gsm8k", "math-subject", "gsm8k-skill"}
    splits = {n: (str(s.pool_path), str(s.test_path)) for n, s in DATASETS.items()}
    assert splits["rte"] == ("rte/train.jsonl", "rte/dev.jsonl")
    assert splits["sst5"] == ("sst5/train.jsonl", "sst5/test.jsonl")
    assert splits["math-subject"] == ("math/train.jsonl", "None")
    for spec in DATASETS.values():
        assert spec.mapping.label_field in ("label_text", "final_answer", "subject", "skills")


def test_label_count_presets_load_from_the_slices(data_dir):
    """MATH subjects (7 labels, no test file) and GSM8K skills (a one-entry list per question)."""
    math = load_dataset("math-subject", data_dir=data_dir)
    assert len(math.labels) == 7 and not math.test and {str(ex.label) for ex in math.pool} <= set(math.labels)
    skill = load_dataset("gsm8k-skill", data_dir=data_dir)
    assert skill.pool and skill.test and all(isinstance(ex.label, str) for ex in skill.pool + skill.test)
    assert "multiplication" in skill.labels and skill.n_unlabeled == 0


def test_list_label_keeps_only_single_entry_lists(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": "a", "text": "x", "tags": ["p"]}\n{"id": "b", "text": "y", "tags": ["p", "q"]}\n'
        '{"id": "c", "text": "z", "tags": []}\n{"id": "d", "text": "w", "tags": ["q"]}\n',
        encoding="utf-8",
    )
    ds = load_dataset({"name": "tags", "path": str(path), "label_field": "tags", "list_label": True})
    assert [(ex.id, ex.label) for ex in ds.pool] == [("a", "p"), ("d", "q")] and ds.n_unlabeled == 2


def test_preset_paths_resolve_under_data_dir(tmp_path, monkeypatch):
    spec = get_dataset("trec", data_dir=tmp_path)
    assert spec.pool_path == tmp_path / "trec" / "train.jsonl"
    (tmp_path / "x").mkdir()
    monkeypatch.setenv("FEWSHOT_SHARED_DATA", str(tmp_path / "x"))
    assert get_dataset("mrpc").test_path == tmp_path / "x" / "mrpc" / "test.jsonl"
    with pytest.raises(NotFoundError, match="not found"):
        load_dataset("trec", data_dir=tmp_path)


def test_shared_data_lookup_order_and_error(tmp_path, monkeypatch):
    """$FEWSHOT_SHARED_DATA alone when set; else ../shared/data next to the cwd, then the checkout.

    Installed (non-editable) copies used to look under ``lib/python3.11/shared/data``; the error
    names the variable and every path tried, and the shipped test slices are never a fallback.
    """
    from fewshot.evaluation import _data_paths as _datasets

    monkeypatch.setenv("FEWSHOT_SHARED_DATA", str(tmp_path / "missing"))
    assert _datasets.shared_data_candidates() == [tmp_path / "missing"]
    with pytest.raises(NotFoundError, match=r"\$FEWSHOT_SHARED_DATA=.*missing is not a folder"):
        get_dataset("trec")
    monkeypatch.delenv("FEWSHOT_SHARED_DATA")
    work = tmp_path / "proj" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(_datasets, "_checkout_root", lambda: None)  # as when installed in site-packages
    beside_cwd = (tmp_path / "proj" / "shared" / "data").resolve()
    assert _datasets.shared_data_candidates() == [beside_cwd]
    with pytest.raises(NotFoundError) as err:
        load_dataset("sst5")
    msg = str(err.value)
    assert "$FEWSHOT_SHARED_DATA" in msg and str(beside_cwd) in msg and "lib/python" not in msg
    assert "tests/data" not in msg
    beside_cwd.mkdir(parents=True)
    assert get_dataset("rte").pool_path == beside_cwd / "rte" / "train.jsonl"
    repo = tmp_path / "repo" / "main"
    (repo.parent / "shared" / "data").mkdir(parents=True)
    monkeypatch.setattr(_datasets, "_checkout_root", lambda: repo)
    assert _datasets.shared_data_candidates() == [beside_cwd, (repo.parent / "shared" / "data").resolve()]
    beside_cwd.rmdir()
    assert _datasets.shared_data_dir() == (repo.parent / "shared" / "data").resolve()
    # a dataset file (or a mapping) never needs the shared folder
    monkeypatch.setattr(_datasets, "_checkout_root", lambda: None)
    assert get_dataset({"name": "own", "path": str(tmp_path / "own.jsonl")}).name == "own"


def test_sst5_preset(mini_data):
    ds = load_dataset("sst5", data_dir=mini_data)
    assert (len(ds.pool), len(ds.test)) == (260, 40)
    assert ds.labels == ("terrible", "bad", "okay", "good", "great")
    assert ds.options == [" terrible", " bad", " okay", " good", " great"]
    ex = ds.pool[0]
    assert ex.label in ds.labels and ex.id.startswith("sst5-train-")
    assert "label" not in ex.fields and "text" not in ex.fields


def test_rte_preset_renders_pairs_and_verbalises(mini_data):
    ds = load_dataset("rte", data_dir=mini_data)
    ex = ds.test[0]
    assert ex.text == f"{ex.fields['premise']}\nquestion: {ex.fields['hypothesis']}"
    assert ds.options == [" True", " False"]
    demo = ds.spec.prompt_template().render_demo(ds.pool[0])
    assert demo.endswith("Answer: True") or demo.endswith("Answer: False")
    assert "Hypothesis: " in demo


def test_gsm8k_preset_is_generation_with_clean_outputs(mini_data):
    ds = load_dataset("gsm8k", data_dir=mini_data)
    assert ds.spec.task == "generation" and ds.labels == ()
    ex = ds.pool[0]
    assert ex.output and "<<" not in ex.output and "####" in ex.output
    assert answers_match(extract_answer(ex.output), ex.label)


def test_generic_csv_with_custom_fields(tmp_path):
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "title", "body", "topic"])
        for i in range(12):
            w.writerow([f"r{i}", f"title {i}", f"body {i}", "" if i == 11 else ["x", "y", "z"][i % 3]])
    ds = load_dataset(
        {
            "name": "mine",
            "path": str(path),
            "id_field": "key",
            "template": "{title}: {body}",
            "label_field": "topic",
            "prompt": "Text: {text}\nTopic:",
            "verbalizer": {"x": "ex", "y": "why", "z": "zed"},
        }
    )
    assert len(ds.pool) == 11 and ds.test == [] and ds.n_unlabeled == 1
    assert ds.labels == ("x", "y", "z") and ds.options == [" ex", " why", " zed"]
    assert ds.pool[0].text == "title 0: body 0" and ds.pool[0].id == "r0"
    assert ds.spec.prompt_template().render_demo(ds.pool[1]) == "Text: title 1: body 1\nTopic: why"


def test_generic_loader_errors(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1, "text": "a", "label": "p"}\n{"id": 2, "label": "q"}\n', encoding="utf-8")
    with pytest.raises(IngestError, match="line 2"):
        load_dataset({"name": "d", "path": str(path)})
    path.write_text('{"id": 1, "text": "a", "label": "p"}\n{"id": 2, "text": "b", "label": "r"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"\['r'\]"):
        load_dataset({"name": "d", "path": str(path), "labels": ["p", "q"]})
    with pytest.raises(InvalidInputError, match="unknown keys"):
        load_dataset({"name": "d", "path": str(path), "text_feld": "x"})
    with pytest.raises(InvalidInputError, match="verbalizer"):
        load_dataset({"name": "d", "path": str(path), "verbalizer": {"p": "yes"}})
    path.write_text('{"id": 1, "text": "a", "label": "p"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="two labels"):
        load_dataset({"name": "d", "path": str(path)})
