"""Round trips with Label Studio and Argilla as teams use them: several annotators, TextArea
comments, cancelled / unannotated tasks, discarded responses, JSON / JSON-MIN / CSV / nested / flat
exports detected by content; labeling config, settings, allow-list and pre-annotations on export.

The golden files under tests/data/annotation were produced by the real SDKs
(``make_golden.py``); the last two tests rebuild and load them when label-studio-sdk / argilla are
installed (``pip install -e .[annotation]``) and are skipped otherwise.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run

from fewshot.exceptions import IngestError, InvalidInputError
from fewshot.io import read_labels
from fewshot.service.labels import LabelImportError
from fewshot.service.selection import annotation_config_path, knn_label_vote

GOLDEN = Path(__file__).parents[1] / "data" / "annotation"


@pytest.fixture
def trec(ws, data_slice):
    ws.ingest("trec", data_slice("trec", "train", 30))  # unlabeled
    return ws


# ---------------------------------------------------------------- reading, no store
def test_labelstudio_json_reads_votes_not_comments():
    recs = {r.external_id: r for r in read_labels(GOLDEN / "labelstudio_project.json")}
    assert recs["trec-train-0"].votes == ("description", "description")  # the TextArea is no label
    assert recs["trec-train-1"].votes == ("entity", "human") and recs["trec-train-1"].ground_truth == "entity"
    assert recs["trec-train-3"].skipped == "cancelled" and recs["trec-train-4"].skipped == "unannotated"
    assert recs["trec-train-5"].votes == ("human",) and recs["trec-train-5"].dropped == 1
    assert recs["trec-train-1"].location == "task 2 (id 102)"
    comments = {r.external_id: r.votes for r in read_labels(GOLDEN / "labelstudio_project.json", control="comment")}
    assert comments["trec-train-0"] == ("easy one",)


def test_formats_detected_by_content(tmp_path):
    for name in ("labelstudio_project_min.json", "labelstudio_project.csv"):
        recs = read_labels(GOLDEN / name, control="qtype")
        assert {r.external_id for r in recs} == {f"trec-train-{i}" for i in (0, 1, 2, 4, 5)}
    # no suffix: still sniffed
    plain = tmp_path / "export"
    shutil.copy(GOLDEN / "argilla_records_flat.json", plain)
    assert len(read_labels(plain)) == 4
    with pytest.raises(IngestError, match="--control"):  # JSON-MIN columns need the control's name
        read_labels(GOLDEN / "labelstudio_project_min.json")


def test_knn_label_vote_scores():
    import numpy as np

    L = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    got = knn_label_vote(np.array([[1.0, 0.05], [0.0, 1.0]]), L, ["a", "a", "b"], k=2)
    assert [g[0] for g in got] == ["a", "b"] and got[0][1] == 1.0 and 0.5 < got[1][1] < 1.0


# ---------------------------------------------------------------- importing into a pool
def test_labelstudio_json_project_imports_with_counts(trec):
    report = trec.import_labels("trec", GOLDEN / "labelstudio_project.json")
    assert report.applied == 4 and report.problems == []
    assert report.skipped == {"cancelled": 1, "unannotated": 1} and report.dropped == 1
    assert {d["id"]: d["label"] for d in report.disagreements} == {
        "trec-train-1": "entity",  # a 1-1 tie broken by the ground-truth annotation
        "trec-train-2": "description",  # 2-1 majority
    }
    labels = {e.external_id: e.label for e in trec.list_examples("trec", status="labeled", limit=None)}
    assert labels == {
        "trec-train-0": "description",
        "trec-train-1": "entity",
        "trec-train-2": "description",
        "trec-train-5": "human",
    }
    assert trec.import_labels("trec", GOLDEN / "labelstudio_project.json").unchanged == 4


def test_resolve_modes(trec):
    with pytest.raises(LabelImportError) as err:
        trec.import_labels("trec", GOLDEN / "labelstudio_project.json", resolve="unanimous")
    assert {p.external_id for p in err.value.report.problems} == {"trec-train-1", "trec-train-2"}
    assert "task 2 (id 102)" in str(err.value)  # where in the file, not a line number
    report = trec.import_labels("trec", GOLDEN / "labelstudio_project.json", resolve="ground-truth", skip_invalid=True)
    assert [p.external_id for p in report.problems] == ["trec-train-2"] and report.applied == 3
    with pytest.raises(InvalidInputError, match="resolve must be one of"):
        trec.import_labels("trec", GOLDEN / "labelstudio_project.json", resolve="loudest")


@pytest.mark.parametrize("name", ["labelstudio_project_min.json", "labelstudio_project.csv"])
def test_labelstudio_min_and_csv_import(trec, name):
    # JSON-MIN / CSV drop cancelled annotations and the ground-truth flag: the 1-1 tie stays a conflict
    with pytest.raises(LabelImportError, match="no majority"):
        trec.import_labels("trec", GOLDEN / name, control="qtype")
    report = trec.import_labels("trec", GOLDEN / name, control="qtype", skip_invalid=True)
    assert report.applied == 3 and report.skipped == {"unannotated": 1}
    assert [(p.external_id, p.kind) for p in report.problems] == [("trec-train-1", "conflicting_labels")]


@pytest.mark.parametrize("name", ["argilla_records.json", "argilla_records_flat.json"])
def test_argilla_discarded_responses_import_without_conflicts(trec, name):
    report = trec.import_labels("trec", GOLDEN / name)  # the only question, qtype, is found
    assert report.problems == [] and report.applied == 2
    assert report.skipped == {"discarded": 1, "unannotated": 1} and report.dropped == 1


# ---------------------------------------------------------------- exporting for annotators
def test_export_config_allow_list_and_predictions(trec, tmp_path):
    trec.embed("trec")
    trec.import_labels("trec", GOLDEN / "labelstudio_project.json")
    trec.select("trec", budget=5, method="random")
    out = tmp_path / "tasks.json"
    assert trec.export_round("trec", out, fmt="labelstudio", control="qtype") == 5
    tasks = json.loads(out.read_text())
    assert all(set(t["data"]) == {"id", "text", "fewshot_id"} for t in tasks)  # no label / label_text
    pred = tasks[0]["predictions"][0]
    assert pred["result"][0]["from_name"] == "qtype" and 0 < pred["score"] <= 1
    assert pred["result"][0]["value"]["choices"][0] in {"description", "entity", "human"}
    config = annotation_config_path(out, "labelstudio").read_text()
    assert '<Choices name="qtype" toName="text"' in config and '<Choice value="human"/>' in config

    rec_out = tmp_path / "records.json"
    trec.export_round("trec", rec_out, fmt="argilla", fields=["label_text"], predictions=False)
    records = json.loads(rec_out.read_text())
    assert set(records[0]["metadata"]) == {"label_text"} and "suggestions" not in records[0]
    settings = json.loads(annotation_config_path(rec_out, "argilla").read_text())
    assert [o["value"] for o in settings["questions"][0]["settings"]["options"]] == ["description", "entity", "human"]
    with pytest.raises(InvalidInputError, match="unknown field 'gold_answer'"):
        trec.export_round("trec", rec_out, fmt="argilla", fields=["gold_answer"])


def test_export_without_vectors_or_labels_has_no_predictions(trec, tmp_path):
    trec.embed("trec")
    trec.select("trec", budget=3, method="random")
    out = tmp_path / "tasks.json"
    trec.export_round("trec", out, fmt="labelstudio")
    assert all("predictions" not in t for t in json.loads(out.read_text()))
    assert "no labels yet" in annotation_config_path(out, "labelstudio").read_text()
    trec.export_round("trec", out, fmt="labelstudio", labels=["description", "entity"])
    assert '<Choice value="entity"/>' in annotation_config_path(out, "labelstudio").read_text()


def test_cli_export_needs_a_round_and_import_reports_counts(tmp_path, data_slice):
    home = tmp_path / "home"
    run(home, "ingest", "trec", data_slice("trec", "train", 30))
    result = run(home, "export", "trec", "--format", "labelstudio", "--out", tmp_path / "t.json", ok=False)
    assert result.exit_code == 5 and "add --latest or --round N" in result.output
    out = run(home, "import-labels", "trec", GOLDEN / "labelstudio_project.json").output
    assert "applied 4" in out and "1 cancelled, 1 unannotated" in out and "2 disagreements" in out
    result = run(home, "import-labels", "trec", GOLDEN / "labelstudio_project_min.json", ok=False)
    assert result.exit_code == 5 and "--control" in result.output
    args = ["--control", "qtype", "--resolve", "majority", "--skip-invalid", "--json"]
    report = json.loads(run(home, "import-labels", "trec", GOLDEN / "labelstudio_project_min.json", *args).stdout)
    assert report["unchanged"] == 3 and report["skipped"] == {"unannotated": 1}
    assert [p["kind"] for p in report["problems"]] == ["conflicting_labels"]
    out = run(home, "import-labels", "trec", GOLDEN / "argilla_records_flat.json", "--overwrite").output
    assert "1 discarded, 1 unannotated" in out and "left out: 1" in out


# ---------------------------------------------------------------- with the real SDKs
def test_golden_files_match_the_sdks(tmp_path):
    pytest.importorskip("label_studio_sdk")
    pytest.importorskip("argilla")
    work = tmp_path / "annotation"
    shutil.copytree(GOLDEN, work)
    for f in work.iterdir():
        if f.name not in ("make_golden.py", "labelstudio_project.json"):
            f.unlink()
    subprocess.run([sys.executable, str(work / "make_golden.py")], check=True, capture_output=True)
    for name in ("labelstudio_project_min.json", "argilla_records.json", "argilla_records_flat.json"):
        assert json.loads((work / name).read_text()) == json.loads((GOLDEN / name).read_text()), name
    assert read_labels(work / "labelstudio_project.csv", control="qtype") == read_labels(
        GOLDEN / "labelstudio_project.csv", control="qtype"
    )


def test_exports_load_in_the_sdks(trec, tmp_path):
    ls = pytest.importorskip("label_studio_sdk.label_interface")
    rg = pytest.importorskip("argilla")
    trec.embed("trec")
    trec.import_labels("trec", GOLDEN / "labelstudio_project.json")
    trec.select("trec", budget=3, method="random")
    out = tmp_path / "tasks.json"
    trec.export_round("trec", out, fmt="labelstudio")
    interface = ls.LabelInterface(annotation_config_path(out, "labelstudio").read_text())
    assert interface.get_control("label").tag == "Choices"
    for task in json.loads(out.read_text()):
        for pred in task.get("predictions", []):
            interface.validate_prediction(pred)
    rec_out = tmp_path / "records.json"
    trec.export_round("trec", rec_out, fmt="argilla")
    records = [rg.Record.from_dict(r) for r in json.loads(rec_out.read_text())]
    assert records[0].suggestions["label"].agent == "fewshot-knn"
