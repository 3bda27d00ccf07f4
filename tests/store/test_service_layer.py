"""The service layer's house rules: no reference cycles, SQL errors classified by driver codes,
corrupt artifacts typed (and repaired by a rebuild), and an import graph without circles."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from fewshot import Workspace
from fewshot.exceptions import ConflictError, CorruptArtifactError
from fewshot.store import pools as pool_rows
from fewshot.store.errors import is_unique_violation
from fewshot.store.models import Pool

REPO = Path(__file__).resolve().parents[2]


def test_workspace_has_no_reference_cycles(tmp_path):
    """Sub-services hold the context and each other, never the workspace: dropping the last
    reference frees it without the cycle collector."""
    ws = Workspace.open(tmp_path / "home")
    ref = weakref.ref(ws)
    gc.collect()
    gc.disable()
    try:
        ws.close()
        del ws
        assert ref() is None
    finally:
        gc.enable()


def test_unique_clash_is_recognised_by_driver_code(ws):
    with ws.session() as s:
        pool_rows.create_pool(s, name="p", embedding_model="m")
    with pytest.raises(IntegrityError) as caught:
        with ws.session() as s:
            s.add(Pool(name="p", embedding_model="m"))
            s.flush()
    assert is_unique_violation(caught.value)
    with pytest.raises(IntegrityError) as not_null:
        with ws.session() as s:
            s.add(Pool(name="q", embedding_model=None))
            s.flush()
    assert not is_unique_violation(not_null.value)
    with pytest.raises(ConflictError, match="already exists"):
        with ws.session() as s:
            pool_rows.create_pool(s, name="p", embedding_model="m")


def test_corrupt_index_is_a_typed_error_and_a_rebuild_repairs_it(ws, data_slice):
    ws.ingest("sst5", data_slice("sst5", "train", 40), label_field="label_text")
    first = ws.build_index("sst5")
    assert ws.retrieve("sst5", "a witty film", k=3)[0]
    (Path(first.path) / "corpus.jsonl").write_text("{not json\n", encoding="utf-8")
    fresh = Workspace.open(ws.settings.home, database_url=ws.settings.database_url)  # nothing cached
    try:
        fresh.use_embedder(ws.embedder(first.embedding_model))
        with pytest.raises(CorruptArtifactError, match="cannot be read; rebuild it with `fewshot index POOL`") as err:
            fresh.retrieve("sst5", "a witty film", k=3)
        assert str(first.path) not in str(err.value) and str(first.path) in err.value.hint  # paths stay local
        rebuilt = fresh.build_index("sst5")
        assert rebuilt.version == first.version + 1 and rebuilt.count == first.count
        assert len(fresh.retrieve("sst5", "a witty film", k=3)[0]) == 3
        shutil.rmtree(rebuilt.path)  # a missing folder: the manifest check sees it without loading
        assert fresh.build_index("sst5").version == rebuilt.version + 1
    finally:
        fresh.close()


def test_import_graph_has_no_circle():
    grimp = pytest.importorskip("grimp")
    nx = pytest.importorskip("networkx")
    graph = grimp.build_graph("fewshot")
    g = nx.DiGraph()
    for module in graph.modules:
        if module.startswith("fewshot"):
            g.add_edges_from(
                (module, d) for d in graph.find_modules_directly_imported_by(module) if d.startswith("fewshot")
            )
    cycles = list(nx.simple_cycles(g))
    assert cycles == []


def test_a_recreated_pool_never_sees_the_deleted_pools_cached_indexes(ws, data_slice):
    """SQLite reuses a deleted pool's id: caches are keyed by index version stamps, not pool ids."""
    ws.ingest("a", data_slice("sst5", "train", 30), label_field="label_text")
    ws.build_index("a")
    texts_a = {d.text for d in ws.retrieve("a", "a witty film", k=5, retriever="bm25")[0]}
    ws.delete_pool("a")
    ws.ingest("b", data_slice("trec", "train", 30), label_field="label_text")
    ws.build_index("b")
    for name in ("dense", "bm25"):
        got = {d.text for d in ws.retrieve("b", "a witty film", k=5, retriever=name)[0]}
        assert got and not got & texts_a, name
