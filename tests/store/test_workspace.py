"""The service layer on real data, on SQLite and PostgreSQL (every test here runs on both)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import inspect

from fewshot import Workspace
from fewshot.exceptions import ConflictError, IngestError, InvalidInputError, NotFoundError


def test_migrations_create_the_schema(ws):
    tables = set(inspect(ws.engine).get_table_names())
    assert {"pools", "examples", "selection_rounds", "selection_items", "jobs", "alembic_version"} <= tables


def test_pool_lifecycle(ws):
    ws.create_pool("a", template="{premise}\nquestion: {hypothesis}")
    ws.create_pool("b")
    assert [p.name for p in ws.list_pools()] == ["a", "b"]
    assert ws.get_pool("a").template == "{premise}\nquestion: {hypothesis}"
    with pytest.raises(ConflictError, match="already exists"):
        ws.create_pool("a")
    ws.delete_pool("a")
    with pytest.raises(NotFoundError, match="^pool 'a' does not exist$") as missing:
        ws.get_pool("a")
    assert missing.value.hint == "known pools: b"  # for the CLI; never in the message the API shows
    with pytest.raises(InvalidInputError, match="template"):
        ws.create_pool("c", template="no fields")


def test_ingest_sst5_slice_is_idempotent_and_labeled(ws, data_slice):
    path = data_slice("sst5", "train", 300)
    first = ws.ingest("sst5", path, label_field="label_text")
    assert first.read == 300 and first.added + first.duplicate_count == 300 and first.labeled == first.added
    again = ws.ingest("sst5", path, label_field="label_text")
    assert again.added == 0 and again.unchanged == first.added
    info = ws.get_pool("sst5")
    assert info.counts == {"unlabeled": 0, "selected": 0, "labeled": first.added}
    ex = ws.list_examples("sst5", limit=1)[0]
    row = json.loads(path.read_text().splitlines()[0])
    assert ex.external_id == row["id"] and ex.text == row["text"] and ex.label == row["label_text"]
    assert ex.fields == row


def test_ingest_unlabeled_then_filter_by_status(ws, data_slice):
    ws.ingest("trec", data_slice("trec", "train", 50))
    assert ws.get_pool("trec").counts["unlabeled"] == 50
    assert ws.list_examples("trec", status="labeled") == []
    assert len(ws.list_examples("trec", status="unlabeled", limit=None)) == 50
    with pytest.raises(InvalidInputError, match="unknown status 'done'"):
        ws.list_examples("trec", status="done")


def test_ingest_template_for_pairs(ws, data_slice):
    ws.ingest(
        "rte", data_slice("rte", "train", 20), template="{premise}\nquestion: {hypothesis}", label_field="label_text"
    )
    ex = ws.list_examples("rte", limit=1)[0]
    assert ex.text == f"{ex.fields['premise']}\nquestion: {ex.fields['hypothesis']}"
    with pytest.raises(ConflictError, match="renders its text with template"):
        ws.ingest("rte", data_slice("rte", "train", 20), template="{premise}")


def test_bad_line_rolls_back_the_whole_file(ws, tmp_path, data_slice):
    ws.ingest("mrpc", data_slice("mrpc", "train", 30), template="{sentence1} || {sentence2}")
    before = ws.get_pool("mrpc").counts
    bad = tmp_path / "bad.jsonl"
    good = [json.dumps({"id": f"new-{i}", "sentence1": f"s{i}", "sentence2": "t"}) for i in range(1500)]
    good.insert(1200, json.dumps({"id": "broken", "sentence1": "only one"}))  # after a flushed batch
    bad.write_text("\n".join(good) + "\n")
    with pytest.raises(IngestError, match=r"bad.jsonl, line 1201, field 'sentence2': missing field"):
        ws.ingest("mrpc", bad)
    assert ws.get_pool("mrpc").counts == before  # nothing half-written


def test_conflicting_content_for_an_id(ws, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"id": 1, "text": "hello", "label": "x"}) + "\n")
    ws.ingest("p", f, label_field="label")
    f.write_text(json.dumps({"id": 1, "text": "hello", "label": "y"}) + "\n")
    with pytest.raises(IngestError, match="line 1: id '1' is already in pool 'p' with a different label"):
        ws.ingest("p", f, label_field="label")
    assert ws.ingest("p", f, label_field="label", on_conflict="skip").conflicts_skipped == 1
    assert ws.list_examples("p")[0].label == "x"
    assert ws.ingest("p", f, label_field="label", on_conflict="update").updated == 1
    assert ws.list_examples("p")[0].label == "y"


def test_duplicates_detected_within_file_and_across_ingests(ws, tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(["a", "b", "a", "c"])))
    report = ws.ingest("p", f)
    assert report.added == 3 and report.duplicate_count == 1 and report.duplicates == [(3, "2", "0")]
    g = tmp_path / "e.jsonl"
    g.write_text(json.dumps({"id": "z", "text": "b"}) + "\n")
    assert ws.ingest("p", g).duplicates == [(1, "z", "1")]
    assert ws.ingest("p", g, keep_duplicates=True).added == 1
    h = tmp_path / "f.jsonl"
    h.write_text(json.dumps({"id": "q", "text": "one"}) + "\n" + json.dumps({"id": "q", "text": "two"}) + "\n")
    with pytest.raises(IngestError, match="line 2, field 'id': id 'q' appears again with a different text"):
        ws.ingest("p", h)


def test_unknown_pool_without_create(ws, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"text": "x"}\n')
    with pytest.raises(NotFoundError, match="pool 'nope' does not exist"):
        ws.ingest("nope", f, create=False)


def test_embed_caches_by_content_hash(ws, data_slice, embedder):
    ws.ingest("sst5", data_slice("sst5", "train", 120))
    first = ws.embed("sst5")
    assert first.embedded == 120 and first.cached == 0 and first.dim == 384
    second = ws.embed("sst5")
    assert second.embedded == 0 and second.cached == 120
    ids, X = ws.vectors("sst5")
    texts = [e.text for e in ws.list_examples("sst5", limit=None)]
    assert X.shape == (120, 384) and len(ids) == 120
    np.testing.assert_allclose(X[:5], embedder.encode(texts[:5]), atol=1e-5)


def test_vectors_before_embedding_is_a_clear_error(ws, data_slice):
    ws.ingest("sst5", data_slice("sst5", "train", 5))
    with pytest.raises(ConflictError, match="run `fewshot embed` first"):
        ws.vectors("sst5")


def test_export_round_trip(ws, data_slice, tmp_path):
    ws.ingest("trec", data_slice("trec", "train", 40), label_field="label_text")
    n = ws.export("trec", tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert n == 40 and rows[0]["label"] == rows[0]["fields"]["label_text"]
    assert ws.export("trec", tmp_path / "out.csv", fmt="csv") == 40
    ws2 = Workspace.open(tmp_path / "other")
    assert ws2.ingest("copy", tmp_path / "out.csv", label_field="label").added == 40


def test_delete_pool_removes_vectors(ws, data_slice):
    ws.ingest("sst5", data_slice("sst5", "train", 10))
    ws.embed("sst5")
    store = ws.embeddings.store("sst5")
    assert store.path.exists()
    ws.delete_pool("sst5")
    assert not store.path.exists()


def test_select_rounds_continue_and_are_reproducible(ws, data_slice):
    ws.ingest("sst5", data_slice("sst5", "train", 150))
    ws.embed("sst5")
    first = ws.select("sst5", budget=10, method="votek", k=15)
    assert first.number == 1 and len(first.items) == 10 and first.params["k"] == 15
    assert ws.get_pool("sst5").counts["selected"] == 10
    second = ws.select("sst5", budget=10, method="votek", k=15)
    assert second.number == 2
    assert not {i.example_id for i in first.items} & {i.example_id for i in second.items}
    # the same pool state and seed give the same picks: compare against the bare-matrix call
    from fewshot.annotate import select as select_rows

    ids, X = ws.vectors("sst5")
    bare = select_rows(X, 10, "votek", k=15)
    assert [int(ids[i]) for i in bare.indices] == [i.example_id for i in first.items]
    with pytest.raises(InvalidInputError, match="budget must be between 1 and the 130"):
        ws.select("sst5", budget=131)
    ideal = ws.select("sst5", budget=5, method="ideal")
    assert ideal.influence is not None and ideal.influence >= 5
    assert [r.number for r in ws.rounds("sst5")] == [1, 2, 3]


def test_budget_curve_and_plot(ws, data_slice, tmp_path):
    ws.ingest("trec", data_slice("trec", "train", 120))
    ws.embed("trec")
    curve = ws.budget("trec", budgets=[5, 10, 20, 40], plot=tmp_path / "b.png", k=15)
    assert curve.budgets.tolist() == [5, 10, 20, 40]
    assert np.all(np.diff(curve.coverage) >= 0) and curve.recommended in (5, 10, 20, 40)
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_migrations_match_the_models(ws):
    """Every model column and table exists in the migrated schema (no drift between the two)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fewshot.store.models import Base

    with ws.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # adds/removes of tables and columns are drift; type/index nuances across dialects are not asserted
    drift = [
        d for d in diff if isinstance(d, tuple) and d[0] in ("add_table", "remove_table", "add_column", "remove_column")
    ]
    assert drift == []
    assert {"trained_models", "feedback_scores"} <= set(inspect(ws.engine).get_table_names())
    assert "settings" in {c["name"] for c in inspect(ws.engine).get_columns("pools")}


def test_a_name_with_nul_names_no_pool(ws):
    """PostgreSQL refuses NUL in text: a lookup by such a name is a plain not-found on both stores
    (schemathesis found a 500 from POST /v1/udr/train with one among its pools)."""
    for lookup in (ws.pools.get, ws.pools.ref):
        with pytest.raises(NotFoundError, match="does not exist"):
            lookup("a\x00b")
