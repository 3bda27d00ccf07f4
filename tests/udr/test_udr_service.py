"""The workspace's UDR service on SQLite and PostgreSQL: model versions, and the per-pool UDR index
(versioned in index_versions, refreshed incrementally when the labeled set changes)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sqlalchemy import select

from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.store.models import IndexVersion
from fewshot.udr import UDRModel, prepare_model


def test_udr_index_versions_and_refresh(ws, data_slice, base_model, tmp_path):
    import json

    src = data_slice("sst5", "train", 30)
    rows = [json.loads(line) for line in src.read_text().splitlines()]
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows[:20]))
    ws.ingest("sst5", first, label_field="label_text")
    ws.build_index("sst5")
    with pytest.raises(NotFoundError, match="no trained UDR model yet"):
        ws.retrieve("sst5", ["x"], retriever="udr")

    model = UDRModel(prepare_model(copy.deepcopy(base_model)), {"sst5": "Sentiment: "})
    info = ws.udr.save_model("m", model, base_model="all-MiniLM-L6-v2")
    assert info.spec == "udr:m:v1" and ws.get_model("m").version == 1

    query = rows[3]["text"]
    demos = ws.retrieve("sst5", [query], k=3, retriever="udr:m")[0]
    assert demos[0].id == rows[3]["id"]  # the item itself is its own nearest neighbour
    vec = model.encode([r["text"] for r in rows[:20]], "sst5") @ model.encode([query], "sst5")[0]
    np.testing.assert_allclose([d.score for d in demos], np.sort(vec)[::-1][:3], rtol=1e-4)

    def versions():
        with ws.session() as s:
            return [
                (r.kind, r.version, r.count)
                for r in s.scalars(
                    select(IndexVersion).where(IndexVersion.kind.like("udr:%")).order_by(IndexVersion.id)
                )
            ]

    assert versions() == [("udr:m:v1", 1, 20)]
    ws.retrieve("sst5", [query], k=3, retriever="udr:m:v1")
    assert versions() == [("udr:m:v1", 1, 20)]  # unchanged labeled set: no new version

    ws.ingest("sst5", src, label_field="label_text")  # 10 more labeled items
    ws.build_index("sst5")
    new = rows[25]["text"]
    assert ws.retrieve("sst5", [new], k=1, retriever="udr")[0][0].id == rows[25]["id"]
    assert versions() == [("udr:m:v1", 1, 20), ("udr:m:v1", 2, 30)]

    info2 = ws.udr.save_model("m", UDRModel(model.model, {"a": "A: ", "b": "B: "}))
    assert info2.version == 2 and ws.models.resolve("udr:m").version == 2
    assert [m.spec for m in ws.list_models()] == ["udr:m:v1", "udr:m:v2"]
    with pytest.raises(InvalidInputError, match="several tasks"):
        ws.retrieve("sst5", [query], retriever="udr:m")  # sst5 is not one of v2's tasks
    a = ws.retrieve("sst5", [query], k=30, retriever="udr:m", task="a")[0]
    b = ws.retrieve("sst5", [query], k=30, retriever="udr:m", task="b")[0]
    assert len(a) == len(b) == 30 and [d.score for d in a] != [d.score for d in b]  # other instruction
    kinds = sorted(k for k, _, _ in versions() if k.startswith("udr:m:v2"))
    assert len(kinds) == 2 and all(k.startswith("udr:m:v2#") and len(k) <= 50 for k in kinds)
    with pytest.raises(InvalidInputError, match="model name must be 1-30"):
        ws.udr.save_model("x" * 31, model)
    with pytest.raises(InvalidInputError, match="bad UDR retriever"):
        ws.retrieve("sst5", [query], retriever="udr:m:2")
    with pytest.raises(NotFoundError, match=r"^no UDR model 'm' v7$") as missing:
        ws.retrieve("sst5", [query], retriever="udr:m:v7")
    assert missing.value.hint == "known models: m"
