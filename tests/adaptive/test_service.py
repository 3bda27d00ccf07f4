"""Skills and adaptive prompts through the Workspace (the layer the CLI and API call), on a real
GSM8K slice: vocabulary, bulk edits (all or nothing), thresholds, prediction, every branch logged."""

from __future__ import annotations

import pytest
from shared_data import write_jsonl

from fewshot.exceptions import IngestError, InvalidInputError, NotFoundError


@pytest.fixture(scope="module")
def ws(tmp_path_factory, embedder, gsm_train):
    from fewshot import Workspace

    home = tmp_path_factory.mktemp("adaptive-ws")
    workspace = Workspace.open(home / "home")
    workspace.use_embedder(embedder)
    src = write_jsonl(home / "gsm.jsonl", gsm_train[:120])
    workspace.ingest(
        "gsm", src, id_field="id", text_field="question", label_field="final_answer", skills_field="skills"
    )
    workspace.build_index("gsm")
    yield workspace
    workspace.close()


@pytest.fixture
def edit_pool(ws, gsm_train, tmp_path):
    """A fresh, unindexed pool of 30 items for edits."""
    name = f"edit-{tmp_path.name}"
    ws.ingest(
        name,
        write_jsonl(tmp_path / "e.jsonl", gsm_train[:30]),
        id_field="id",
        text_field="question",
        label_field="final_answer",
        skills_field="skills",
    )
    return name


def _skills(ws, pool):
    return {e.external_id: e.skills for e in ws.iter_examples(pool)}


def test_vocabulary_derived_then_stored(ws, edit_pool, gsm_train):
    info = ws.skill_vocabulary(edit_pool)
    assert not info["stored"] and info["counts"]["multiplication"] == sum(
        "multiplication" in r["skills"] for r in gsm_train[:30]
    )
    with pytest.raises(InvalidInputError, match="carry skills outside the new vocabulary"):
        ws.set_skill_vocabulary(edit_pool, ["multiplication"])
    full = info["skills"] + ["geometry"]
    stored = ws.set_skill_vocabulary(edit_pool, full)
    assert stored["stored"] and stored["skills"] == full and stored["counts"]["geometry"] == 0
    assert not ws.set_skill_vocabulary(edit_pool, None)["stored"]


def test_bulk_edits_by_ids(ws, edit_pool):
    ids = ["gsm8k-train-0", "gsm8k-train-1"]
    before = _skills(ws, edit_pool)
    assert not any("percentage" in before[i] for i in ids)
    known = "percentage" in ws.skill_vocabulary(edit_pool)["skills"]
    rep = ws.edit_skills(edit_pool, ids, add=["percentage"])
    assert rep.changed == 2 and rep.new_skills == ([] if known else ["percentage"])
    after = _skills(ws, edit_pool)
    assert after[ids[0]] == before[ids[0]] + ["percentage"]
    assert ws.edit_skills(edit_pool, ids, add=["percentage"]).unchanged == 2
    ws.edit_skills(edit_pool, ids, remove=["percentage"])
    assert _skills(ws, edit_pool) == before
    ws.edit_skills(edit_pool, ids[:1], set=["Time Speed Distance"])  # free-form names are kept as written
    assert _skills(ws, edit_pool)[ids[0]] == ["Time Speed Distance"]


def test_bulk_edit_of_many_ids_in_chunks(ws, edit_pool, monkeypatch):
    import fewshot.store.examples as example_rows

    monkeypatch.setattr(example_rows, "IN_CHUNK", 7)
    ids = [f"gsm8k-train-{i}" for i in range(30)]
    assert ws.edit_skills(edit_pool, ids, add=["algebra"]).read == 30
    assert all("algebra" in s for s in _skills(ws, edit_pool).values())
    with pytest.raises(InvalidInputError, match="line 31, id 'gsm8k-train-99'"):
        ws.edit_skills(edit_pool, ids + ["gsm8k-train-99"], remove=["algebra"])


def test_bulk_edits_are_all_or_nothing(ws, edit_pool, tmp_path):
    before = _skills(ws, edit_pool)
    with pytest.raises(InvalidInputError, match=r"line 2, id 'nope': no item with this id"):
        ws.edit_skills(edit_pool, ["gsm8k-train-3", "nope"], set=["algebra"])
    with pytest.raises(InvalidInputError, match="exactly one of set, add or remove"):
        ws.edit_skills(edit_pool, ["gsm8k-train-3"], set=["algebra"], add=["division"])
    ws.set_skill_vocabulary(edit_pool, ws.skill_vocabulary(edit_pool)["skills"])
    with pytest.raises(InvalidInputError, match="unknown skill 'geometry'"):
        ws.edit_skills(edit_pool, ["gsm8k-train-3"], add=["geometry"])
    bad = write_jsonl(
        tmp_path / "skills.jsonl",
        [
            {"id": "gsm8k-train-4", "skills": ["algebra"]},
            {"id": "gsm8k-train-5", "skills": ["algebra"], "mode": "add"},
            {"id": "gsm8k-train-6", "skills": "percentage;cooking"},
        ],
    )
    with pytest.raises(InvalidInputError, match=r"skills.jsonl, line 3, id 'gsm8k-train-6'.*unknown skill 'cooking'"):
        ws.edit_skills(edit_pool, path=bad)
    (tmp_path / "broken.jsonl").write_text('{"id": "gsm8k-train-4", "skills": ["algebra"]}\n{"id": \n')
    with pytest.raises(IngestError, match="line 2"):
        ws.edit_skills(edit_pool, path=tmp_path / "broken.jsonl")
    assert _skills(ws, edit_pool) == before  # nothing was changed by any failed edit
    with pytest.raises(NotFoundError):
        ws.edit_skills("no-such-pool", ["x"], set=["algebra"])


def test_bulk_edits_from_files(ws, edit_pool, tmp_path):
    good = write_jsonl(
        tmp_path / "skills.jsonl",
        [{"id": "gsm8k-train-4", "skills": ["algebra"]}, {"id": "gsm8k-train-5", "skills": ["algebra"], "mode": "add"}],
    )
    rep = ws.edit_skills(edit_pool, path=good)
    after = _skills(ws, edit_pool)
    assert rep.changed == 2 and after["gsm8k-train-4"] == ["algebra"] and "algebra" in after["gsm8k-train-5"]
    csv = tmp_path / "skills.csv"
    csv.write_text('id,skills\ngsm8k-train-7,"division;fractions"\n')
    ws.edit_skills(edit_pool, path=csv)
    assert _skills(ws, edit_pool)["gsm8k-train-7"] == ["division", "fractions"]


def test_thresholds_per_pool(ws, edit_pool):
    assert ws.difficulty_thresholds(edit_pool).final == 0.85
    t = ws.difficulty_thresholds(edit_pool, {"final": 0.9, "confidence": -1.0})
    assert (t.final, t.mean, t.confidence) == (0.9, 0.85, -1.0)
    assert ws.difficulty_thresholds(edit_pool).final == 0.9 and ws.difficulty_thresholds("gsm").final == 0.85
    with pytest.raises(InvalidInputError, match="'final' must be a finite number"):
        ws.difficulty_thresholds(edit_pool, {"final": "high"})
    assert ws.difficulty_thresholds(edit_pool, reset=True).final == 0.85


def test_predict_skills(ws, gsm_test):
    qs = [r["question"] for r in gsm_test[:4]]
    knn = ws.predict_skills("gsm", qs, method="knn", top=2)
    vocab = set(ws.skill_vocabulary("gsm")["skills"])
    assert len(knn) == 4 and all(1 <= len(p) <= 2 and set(p) <= vocab for p in knn)
    assert all(len(p) == 1 and p[0] in vocab for p in ws.predict_skills("gsm", qs, method="logreg"))
    with pytest.raises(InvalidInputError, match="unknown skill predictor"):
        ws.predict_skills("gsm", qs, method="svm")
    with pytest.raises(InvalidInputError, match="needs an LM backend spec"):
        ws.predict_skills("gsm", qs, method="lm")


def test_adaptive_prompt_branches_are_logged(ws, gsm_test):
    q = gsm_test[0]["question"]
    opts = dict(k=4, template="math", output_field="answer", max_tokens=4096)
    first = ws.adaptive_prompt("gsm", q, **opts)
    plain, _ = ws.build_prompt("gsm", q, **opts)
    assert first.decision.branch == "first_pass" and first.prompt.demo_ids == plain.demo_ids
    assert "#### " in first.prompt.text  # worked solutions rendered from the answer field
    easy = ws.adaptive_prompt("gsm", q, feedback={"step_scores": [0.99, 0.95]}, **opts)
    assert easy.decision.branch == "easy" and easy.prompt.demo_ids == plain.demo_ids
    hard = ws.adaptive_prompt("gsm", q, feedback={"first_answer": "#### 7", "step_scores": [0.9, 0.5]}, **opts)
    skill = hard.decision.skills[0]
    assert hard.decision.branch == "difficult" and skill == ws.predict_skills("gsm", q)[0][0]
    items = {e.external_id: e.skills for e in ws.iter_examples("gsm")}
    assert all(skill in items[i] for i in hard.prompt.demo_ids) and len(hard.prompt.demos) == 4
    log = ws.prompt_log(hard.prompt_id)["params"]["adaptive"]
    assert log["branch"] == "difficult" and "step 2 score 0.5 <= 0.7" in log["reason"]
    assert log["feedback"]["step_scores"] == [0.9, 0.5]
    plus = ws.adaptive_prompt(
        "gsm", q, feedback={"difficult": True, "missing_skills": ["fractions", "division"]}, **opts
    )
    ids = plus.prompt.demo_ids
    assert plus.decision.branch == "adaptmi_plus" and len(ids) == 4
    assert any("fractions" in items[i] for i in ids) and any("division" in items[i] for i in ids)
    assert ws.prompt_log(plus.prompt_id)["params"]["adaptive"]["skill_source"] == "caller"
    # per-request thresholds: the same scores are easy under a laxer rule
    lax = ws.adaptive_prompt(
        "gsm", q, feedback={"step_scores": [0.9, 0.5]}, thresholds={"final": 0.1, "mean": 0.1, "step": 0.1}, **opts
    )
    assert lax.decision.branch == "easy"


def test_two_pass_through_the_service(ws, gsm_test, tiny_lm_dir):
    q = gsm_test[3]["question"]
    opts = dict(lm=f"hf:{tiny_lm_dir}", k=2, template="math", output_field="answer", max_tokens=1200, max_new_tokens=6)
    hard = ws.two_pass("gsm", q, judge="confidence", thresholds={"confidence": 0.0}, **opts)
    assert hard.decision.branch == "difficult" and hard.regenerated and len(hard.prompt_ids) == 2
    logs = [ws.prompt_log(i)["params"]["adaptive"]["branch"] for i in hard.prompt_ids]
    assert logs == ["first_pass", "difficult"]
    easy = ws.two_pass("gsm", q, judge="consistency", thresholds={"consistency": 0.0}, n_samples=2, **opts)
    assert easy.decision.branch == "easy" and not easy.regenerated and easy.answer == hard.first_answer
    plus = ws.two_pass("gsm", q, judge="confidence", thresholds={"confidence": 0.0}, plus="knn", **opts)
    assert plus.decision.branch == "adaptmi_plus" and plus.decision.skill_source == "predicted:knn"
    assert len(plus.prompt_ids) == 3


def test_skill_edits_reach_an_indexed_pool_at_once(ws, gsm_train, tmp_path):
    """An edit on an indexed pool refreshes its index: skill-filtered retrieval sees the new skill
    without re-running `index`; an unindexed pool's edit reports no index version."""
    from fewshot.retrieve import Filter

    name = f"indexed-{tmp_path.name}"
    ws.ingest(
        name,
        write_jsonl(tmp_path / "i.jsonl", gsm_train[:30]),
        id_field="id",
        text_field="question",
        label_field="final_answer",
        skills_field="skills",
    )
    before = ws.build_index(name).version
    query = gsm_train[5]["question"]
    assert ws.retrieve(name, [query], k=3, filter=Filter(skills=["Time Speed Distance"]))[0] == []
    rep = ws.edit_skills(name, ["gsm8k-train-7"], add=["Time Speed Distance"])
    assert rep.changed == 1 and rep.index_version == before + 1
    hits = ws.retrieve(name, [query], k=3, filter=Filter(skills=["Time Speed Distance"]))[0]
    assert [str(d.id) for d in hits] == ["gsm8k-train-7"]
    assert ws.edit_skills(name, ["gsm8k-train-7"], add=["Time Speed Distance"]).index_version is None  # no change
