"""The registries reach every surface: a selection method and a retriever defined and registered
inside this test (no other file edited) work through the library, the CLI and the REST API, and
are refused everywhere once unregistered."""

from __future__ import annotations

from typing import ClassVar

import httpx
import numpy as np
import pytest
from api_helpers import wait_for_job
from cli_helpers import registered, run

from fewshot import Workspace
from fewshot.annotate import STRATEGIES, Selection, SelectionStrategy
from fewshot.api import create_app
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import RETRIEVERS, BaseRetriever, Hits


class MostCentral(SelectionStrategy):
    """Toy method: the unlabeled rows most similar to the pool's mean vector, most central first."""

    name = "most_central"

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        score = (Z @ Z.mean(axis=0)).astype(np.float64)
        score[labeled] = -np.inf
        picks = np.argsort(-score, kind="stable")[:budget].astype(np.int64)
        return Selection(picks, score[picks], self.name, {})


class ShortestFirst(BaseRetriever):
    """Toy retriever: the k shortest allowed texts, whatever the query (score = -length)."""

    name: ClassVar[str] = "shortest_first"

    def _prepare(self, batch):
        return np.arange(len(batch))

    def _search(self, prepared, k, allowed) -> Hits:
        keys = self.corpus.keys() if allowed is None else allowed
        lengths = np.array([len(t) for t in self.corpus.texts_at(keys)])
        order = np.argsort(lengths, kind="stable")[:k]
        hits = Hits.empty(int(prepared.shape[0]), k)
        hits.ids[:, : order.size] = keys[order]
        hits.scores[:, : order.size] = -lengths[order]
        return hits


@pytest.fixture
def toys():
    with registered(STRATEGIES, "most_central", MostCentral), registered(RETRIEVERS, "shortest_first", ShortestFirst):
        yield


def _shortest(ws: Workspace, pool: str, k: int) -> list[str]:
    labeled = [e.text for e in ws.iter_examples(pool, status="labeled")]
    return sorted(labeled, key=len)[:k]


def test_a_toy_method_and_retriever_work_on_every_surface(toys, tmp_path, embedder, data_slice, live_server):
    home = tmp_path / "home"
    path = data_slice("sst5", "train", 120)
    ws = Workspace.open(home)
    ws.use_embedder(embedder)
    try:
        # library
        ws.ingest("lib", path)
        ws.embed("lib")
        rnd = ws.select("lib", budget=12, method="most_central")
        assert rnd.method == "most_central" and len(rnd.items) == 12
        ws.apply_labels("lib", {i.external_id: "x" for i in rnd.items})
        ws.build_index("lib")
        demos = ws.retrieve("lib", "any query", k=3, retriever="shortest_first")[0]
        assert [d.text for d in demos] == _shortest(ws, "lib", 3)

        # CLI (same data directory, its own workspace)
        run(home, "ingest", "cli", path)
        run(home, "embed", "cli")
        out = run(home, "select", "cli", "--budget", "12", "--method", "most_central").output
        assert "most_central" in out
        assert [i.external_id for i in ws.get_round("cli").items] == [i.external_id for i in rnd.items]
        ws.apply_labels("cli", {i.external_id: "x" for i in rnd.items})
        run(home, "index", "cli")
        lines = run(home, "retrieve", "cli", "any query", "-k", "3", "--retriever", "shortest_first", "--json").stdout
        assert '"rank": 0' in lines and _shortest(ws, "cli", 1)[0].replace('"', '\\"') in lines
        assert "shortest_first" in run(home, "retrieve", "--help").output

        # HTTP (a live server over the same workspace)
        secret, _ = ws.keys.create("proof")
        with (
            live_server(create_app(workspace=ws)) as live,
            httpx.Client(base_url=live.url + "/v1", headers={"X-API-Key": secret}, timeout=60) as c,
        ):
            spec = httpx.get(live.url + "/openapi.json").json()
            assert "most_central" in str(spec) and "shortest_first" in str(spec)
            r = c.post("/pools/lib/retrieve", json={"queries": ["any query"], "k": 3, "retriever": "shortest_first"})
            assert r.status_code == 200, r.text
            assert [d["text"] for d in r.json()["results"][0]] == _shortest(ws, "lib", 3)
            r = c.post("/prompts", json={"pool": "lib", "query": "any query", "k": 2, "retriever": "shortest_first"})
            assert r.status_code == 200, r.text
            assert r.json()["retriever"] == "shortest_first"
            assert ws.prompt_log(r.json()["id"])["retriever"] == "shortest_first"
            r = c.post("/pools/lib/selections", json={"budget": 5, "method": "most_central"})
            assert r.status_code == 202, r.text
            job = wait_for_job(c, r.json(), timeout=60)
            assert job["status"] == "succeeded", job
            assert c.get(f"/pools/lib/selections/{job['result']['round']}").json()["method"] == "most_central"
    finally:
        ws.close()


def test_unregistered_names_are_refused_everywhere(tmp_path, embedder, data_slice):
    ws = Workspace.open(tmp_path / "home")
    ws.use_embedder(embedder)
    try:
        ws.ingest("p", data_slice("sst5", "train", 30))
        ws.embed("p")
        with pytest.raises(InvalidInputError, match="unknown selection method 'most_central'"):
            ws.select("p", budget=3, method="most_central")
        result = run(tmp_path / "home", "select", "p", "--budget", "3", "--method", "most_central", ok=False)
        assert result.exit_code == 5 and "most_central" in result.stderr
    finally:
        ws.close()
