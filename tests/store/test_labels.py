"""Label import round trips (JSONL, CSV, Label Studio, Argilla) on both backends."""

from __future__ import annotations

import json

import pytest

from fewshot.exceptions import IngestError
from fewshot.service.labels import LabelImportError


@pytest.fixture
def pool(ws, data_slice):
    path = data_slice("trec", "train", 30)
    ws.ingest("trec", path)  # unlabeled
    gold = {r["id"]: r["label_text"] for r in map(json.loads, path.read_text().splitlines())}
    return ws, gold


def _labels(ws):
    return {e.external_id: e.label for e in ws.list_examples("trec", limit=None)}


def test_jsonl_and_csv_labels_apply_once(pool, tmp_path):
    ws, gold = pool
    ids = list(gold)[:10]
    f = tmp_path / "labels.jsonl"
    f.write_text("".join(json.dumps({"id": i, "label": gold[i]}) + "\n" for i in ids))
    report = ws.import_labels("trec", f)
    assert report.applied == 10 and report.problems == []
    assert ws.get_pool("trec").counts["labeled"] == 10
    assert ws.import_labels("trec", f).to_dict() | {"pool": None} == {
        "pool": None,
        "read": 10,
        "applied": 0,
        "unchanged": 10,
        "problems": [],
        "resolve": "majority",
        "skipped": {},
        "dropped": 0,
        "disagreements": [],
    }
    g = tmp_path / "labels.csv"
    g.write_text("qid,answer\n" + "".join(f"{i},{gold[i]}\n" for i in list(gold)[10:15]))
    assert ws.import_labels("trec", g, id_field="qid", label_field="answer").applied == 5
    assert {k: v for k, v in _labels(ws).items() if v} == {i: gold[i] for i in list(gold)[:15]}


def test_problems_are_reported_item_by_item_and_nothing_is_applied(pool, tmp_path):
    ws, gold = pool
    ids = list(gold)
    rows = [
        {"id": ids[0], "label": "ok"},
        {"id": "nope", "label": "x"},
        {"id": ids[1], "label": ""},
        {"id": ids[2], "label": "a"},
        {"id": ids[2], "label": "b"},
    ]
    f = tmp_path / "bad.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(LabelImportError) as info:
        ws.import_labels("trec", f)
    kinds = [(p.line, p.external_id, p.kind) for p in info.value.report.problems]
    assert kinds == [(2, "nope", "unknown_id"), (3, ids[1], "empty_label"), (4, ids[2], "conflicting_labels")]
    assert "nothing was applied" in str(info.value) and "lines 4, 5" in str(info.value)
    assert ws.get_pool("trec").counts["labeled"] == 0
    report = ws.import_labels("trec", f, skip_invalid=True)
    assert report.applied == 1 and len(report.problems) == 3
    g = tmp_path / "other.jsonl"
    g.write_text(json.dumps({"id": ids[0], "label": "changed"}) + "\n")
    with pytest.raises(LabelImportError, match="already labeled 'ok', file says 'changed'"):
        ws.import_labels("trec", g)
    assert ws.import_labels("trec", g, overwrite=True).applied == 1


def test_labelstudio_and_argilla_exports(pool, tmp_path):
    ws, gold = pool
    ids = list(gold)
    ls = [
        {
            "id": 1,
            "data": {"text": "t", "fewshot_id": ids[0]},
            "annotations": [
                {
                    "result": [
                        {
                            "type": "choices",
                            "from_name": "label",
                            "to_name": "text",
                            "value": {"choices": [gold[ids[0]]]},
                        }
                    ],
                    "was_cancelled": False,
                }
            ],
        },
        {
            "id": 2,
            "data": {"text": "t", "fewshot_id": ids[1]},
            "annotations": [
                {"result": [{"type": "choices", "value": {"choices": ["x"]}}], "was_cancelled": True},
                {"result": [{"type": "choices", "value": {"choices": [gold[ids[1]]]}}]},
            ],
        },
        {
            "id": 3,
            "data": {"text": "t", "fewshot_id": ids[2]},
            "annotations": [
                {"result": [{"type": "choices", "value": {"choices": ["a"]}}]},
                {"result": [{"type": "choices", "value": {"choices": ["b"]}}]},
            ],
        },
    ]
    f = tmp_path / "ls.json"
    f.write_text(json.dumps(ls))
    with pytest.raises(LabelImportError, match=f"id '{ids[2]}': conflicting labels \\['a', 'b'\\]"):
        ws.import_labels("trec", f)
    report = ws.import_labels("trec", f, skip_invalid=True)
    assert report.applied == 2  # the cancelled annotation is ignored
    ar = [
        {"id": ids[3], "fields": {"text": "t"}, "responses": {"label": [{"value": gold[ids[3]], "user_id": "u"}]}},
        {"id": ids[4], "fields": {"text": "t"}, "responses": [{"question_name": "label", "value": gold[ids[4]]}]},
    ]
    g = tmp_path / "argilla.json"
    g.write_text(json.dumps(ar))
    assert ws.import_labels("trec", g).applied == 2
    labels = _labels(ws)
    assert [labels[i] for i in ids[:5]] == [gold[ids[0]], gold[ids[1]], None, gold[ids[3]], gold[ids[4]]]


def test_unreadable_label_files(pool, tmp_path):
    ws, _ = pool
    f = tmp_path / "x.json"
    f.write_text("{not json")
    with pytest.raises(IngestError, match="malformed JSON"):
        ws.import_labels("trec", f)
    f.write_text(json.dumps([{"foo": 1}]))
    with pytest.raises(IngestError, match="neither a Label Studio export"):
        ws.import_labels("trec", f)
    g = tmp_path / "y.jsonl"
    g.write_text(json.dumps({"label": "x"}) + "\n")
    with pytest.raises(IngestError, match="line 1, field 'id': missing id"):
        ws.import_labels("trec", g)
