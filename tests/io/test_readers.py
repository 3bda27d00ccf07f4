"""Readers and field mapping on good and malformed files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fewshot.exceptions import IngestError
from fewshot.io import FieldMapping, iter_records


def test_jsonl_csv_parquet_give_the_same_records(tmp_path):
    rows = [{"id": "a", "text": "first", "label": "pos"}, {"id": "b", "text": "second, with comma", "label": "neg"}]
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "x.csv").write_text('id,text,label\na,first,pos\nb,"second, with comma",neg\n')
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    for name in ("x.jsonl", "x.csv", "x.parquet"):
        got = [r for _, r in iter_records(tmp_path / name)]
        assert got == rows, name


def test_jsonl_line_numbers_skip_blank_lines(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"text": "a"}\n\n{"text": "b"}\n')
    assert [n for n, _ in iter_records(f)] == [1, 3]


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"text": "ok"}\n{"text": \n', "line 2: malformed JSON"),
        (b'{"text": "ok"}\n[1, 2]\n', "line 2: expected a JSON object, got list"),
        (b'{"text": "ok"}\n{"text": "caf\xe9"}\n', "line 2: not valid UTF-8"),
        (b"", "file is empty"),
        (b"\n\n", "file is empty"),
    ],
)
def test_malformed_jsonl_names_the_line(tmp_path, content, expected):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(content)
    with pytest.raises(IngestError, match=expected) as info:
        list(iter_records(f))
    assert "bad.jsonl" in str(info.value)


def test_malformed_csv_names_the_line(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("id,text\n1,ok\n2,too,many\n")
    with pytest.raises(IngestError, match="line 3: row has 3 columns, header has 2"):
        list(iter_records(f))
    f.write_text("id,text\n1,ok\n2\n")
    with pytest.raises(IngestError, match="line 3, field 'text': row is missing columns"):
        list(iter_records(f))


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        list(iter_records(tmp_path / "nope.jsonl"))
    f = tmp_path / "x.txt"
    f.write_text("hello")
    with pytest.raises(IngestError, match="cannot tell the format"):
        list(iter_records(f))


def test_mapping_template_label_skills():
    m = FieldMapping(template="{premise}\nquestion: {hypothesis}", label_field="label_text", skills_field="skills")
    rec = m.apply({"id": 7, "premise": "P", "hypothesis": "H", "label_text": "entailment", "skills": "a, b,a"})
    assert rec.text == "P\nquestion: H"
    assert rec.external_id == "7" and rec.label == "entailment" and rec.skills == ["a", "b"]


def test_mapping_errors_name_field_and_line():
    m = FieldMapping(template="{premise}\nquestion: {hypothesis}")
    with pytest.raises(IngestError, match=r"f.jsonl, line 4, field 'hypothesis': missing field"):
        m.apply({"premise": "P"}, path="f.jsonl", line=4)
    with pytest.raises(IngestError, match=r"field 'text': expected a string, got int"):
        FieldMapping().apply({"text": 5}, line=1)
    with pytest.raises(IngestError, match=r"field 'id': id must be a string or an integer"):
        FieldMapping().apply({"id": [1], "text": "x"}, line=1)
    with pytest.raises(IngestError, match=r"field 'label': label must be"):
        FieldMapping(label_field="label").apply({"text": "x", "label": {"a": 1}}, line=1)
    with pytest.raises(IngestError, match="text is empty"):
        FieldMapping().apply({"text": "   "}, line=1)
    with pytest.raises(IngestError, match="either a text field or a template"):
        FieldMapping(text_field="a", template="{b}")
    with pytest.raises(IngestError, match="references no field"):
        FieldMapping(template="constant")


def test_mapping_without_id_uses_text_hash():
    a = FieldMapping().apply({"text": "same"})
    b = FieldMapping().apply({"text": "same", "other": 1})
    assert a.external_id == b.external_id and a.external_id.startswith("h:")
