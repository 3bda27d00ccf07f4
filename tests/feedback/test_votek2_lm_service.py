"""Two-stage vote-k with a real (tiny) LM through the service: the round names the LM, the labeled
items are the first stage, a second identical run re-scores nothing and picks the same items, and
bad combinations are refused by name."""

from __future__ import annotations

import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.service.selection import LM_CONFIDENCE_CACHE, lm_options

N_ITEMS, N_LABELED = 40, 10  # conftest's pool file


def _pool(ws, name, pool_file):
    ws.ingest(name, pool_file, label_field="label_text")
    ws.embed(name)


def test_votek2_with_lm_round_and_cache(ws, pool_file, feedback_lm_dir):
    ws.settings.lm_backends["tiny"] = f"hf:{feedback_lm_dir}"  # a configured name
    _pool(ws, "a", pool_file)
    seen: list[tuple[int, int]] = []
    rnd = ws.select("a", budget=5, method="votek2", lm="tiny", k=10, lm_progress=lambda d, t: seen.append((d, t)))
    p = rnd.params
    assert rnd.method == "votek2" and len(rnd.items) == 5
    assert p["confidence"] == "lm" and p["lm"] == "tiny" and p["stage1_size"] == 0
    assert p["lm_task"] == "classification" and p["lm_k"] == 4
    assert (p["lm_computed"], p["lm_cached"]) == (N_ITEMS - N_LABELED, 0)
    assert seen[-1] == (N_ITEMS - N_LABELED, N_ITEMS - N_LABELED)
    assert all(item.label is None for item in rnd.items)  # labeled items are never picked
    assert (ws.settings.home / "cache" / LM_CONFIDENCE_CACHE).is_file()

    _pool(ws, "b", pool_file)  # the same items and labels: the same prompts
    progress: list[tuple[int, int]] = []  # without lm_progress, the scoring reports into progress (the API's job)
    again = ws.select("b", budget=5, method="votek2", lm="tiny", k=10, progress=lambda d, t: progress.append((d, t)))
    assert (again.params["lm_computed"], again.params["lm_cached"]) == (0, N_ITEMS - N_LABELED)
    assert (N_ITEMS - N_LABELED, N_ITEMS - N_LABELED) in progress and progress[-1] == (5, 5)
    assert [i.external_id for i in again.items] == [i.external_id for i in rnd.items]

    override = ws.select("b", budget=3, method="votek2", lm="tiny", k=10, stage1_size=2)
    assert override.params["stage1_size"] == 2


def test_votek2_with_lm_refusals(ws, pool_file, tmp_path, feedback_lm_dir):
    spec = f"hf:{feedback_lm_dir}"
    unlabeled = tmp_path / "unlabeled.jsonl"
    unlabeled.write_text(pool_file.read_text(encoding="utf-8").replace('"label_text"', '"gold"'), encoding="utf-8")
    ws.ingest("d", unlabeled)
    ws.embed("d")
    with pytest.raises(InvalidInputError, match="lm is only used by votek2"):
        ws.select("d", budget=5, method="votek", lm=spec)
    with pytest.raises(InvalidInputError, match="not both"):
        ws.select("d", budget=5, method="votek2", lm=spec, confidence="similarity")
    with pytest.raises(InvalidInputError, match="needs labeled demonstrations.*label the first round"):
        ws.select("d", budget=5, method="votek2", lm=spec)
    similarity = ws.select("d", budget=5, method="votek2", k=10)  # the LM-free proxy still works
    assert similarity.params["confidence"] == "similarity" and "lm" not in similarity.params


def test_lm_options_small_label_sets_only():
    assert lm_options(["b", "a", "b"]) == ["a", "b"]
    assert lm_options([str(i) for i in range(51)]) is None  # > 50 labels
    assert lm_options(["a worked\nsolution", "x"]) is None  # free text
    assert lm_options([f"answer {i}" for i in range(20)]) is None  # every item labeled differently
    assert lm_options([f"answer {i}" for i in range(5)]) == [f"answer {i}" for i in range(5)]
