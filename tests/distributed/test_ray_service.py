"""Embedding on Ray from the service and the API (no Ray needed here: these run without the extra).

``VectorService.embed(pool, ray=...)`` takes the Ray path when asked and names the extra when it
is missing; over the API a request may only ask for the operator's cluster (settings
``ray_address``), never name one, and is refused when none is configured."""

from __future__ import annotations

import sys
import time

import pytest
from fastapi.testclient import TestClient

from fewshot import Workspace
from fewshot.api import create_app
from fewshot.exceptions import InvalidInputError, MissingDependencyError


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError


def test_embed_with_ray_but_without_the_extra_names_it(ws, data_slice, no_ray):
    ws.ingest("p", data_slice("sst5", "train", 5))
    for ray in (True, "local", "10.0.0.1:6379"):
        with pytest.raises(MissingDependencyError, match=r"pip install 'fewshot\[ray\]'"):
            ws.embeddings.embed("p", ray=ray)


def test_ray_true_means_the_configured_cluster(tmp_path):
    with Workspace.open(tmp_path / "a") as ws:
        assert ws.embeddings.ray_address(True) == "auto"
        assert ws.embeddings.ray_address(" local ") == "local"
        with pytest.raises(InvalidInputError, match="ray"):
            ws.embeddings.ray_address("")
        with pytest.raises(InvalidInputError, match="no Ray cluster configured"):
            ws.embeddings.embed_job_params(ray=True)
        assert ws.embeddings.embed_job_params(ray=False) == {}
    with Workspace.open(tmp_path / "b", ray_address="ray://head:10001") as ws:
        assert ws.embeddings.ray_address(True) == "ray://head:10001"


def test_an_embed_job_reads_the_address_from_the_settings_only(tmp_path, no_ray):
    with Workspace.open(tmp_path / "a") as ws:
        with pytest.raises(InvalidInputError, match="ray_address"):
            ws.embeddings.run_embed_job({"pool": "p", "ray": True, "address": "evil:1"}, lambda d, t: None)
    with Workspace.open(tmp_path / "b", ray_address="local") as ws:
        with pytest.raises(MissingDependencyError):
            ws.embeddings.embed_job_params(ray=True)


def test_the_embed_route_takes_ray_from_the_operator_only(tmp_path, data_slice, embedder, no_ray):
    with Workspace.open(tmp_path / "home", require_api_key=False) as ws:
        ws.use_embedder(embedder)
        ws.ingest("p", data_slice("sst5", "train", 5))
        with TestClient(create_app(workspace=ws)) as client:
            r = client.post("/v1/pools/p/embed", json={"ray": True})
            assert r.status_code == 422 and "ray_address" in r.json()["detail"]
            r = client.post("/v1/pools/p/embed", json={"ray": True, "address": "10.0.0.1:6379"})
            assert r.status_code == 422 and "address" in r.text  # a request cannot name a cluster
            assert client.post("/v1/pools/p/embed", json={"ray": "yes"}).status_code == 422
            first = client.post("/v1/pools/p/embed", json={})
            assert first.status_code == 202
            first = first.json()
            r = client.post("/v1/pools/p/embed")  # no body: as before
            assert r.status_code == 202 and r.json()["params"] == {"pool": "p"}
            for job_id in (first["id"], r.json()["id"]):  # let the jobs end before the server stops
                assert ws.job_runner().wait(job_id, timeout=120)["status"] == "succeeded"
    with Workspace.open(tmp_path / "home", require_api_key=False, ray_address="auto") as ws:
        with TestClient(create_app(workspace=ws)) as client:
            r = client.post("/v1/pools/p/embed", json={"ray": True})
            assert r.status_code == 501 and "fewshot[ray]" in r.json()["detail"]


@pytest.mark.slow
def test_the_service_and_an_api_job_embed_on_ray(ray_session, tmp_path, data_slice, embedder):
    path = data_slice("sst5", "train", 30)
    with Workspace.open(tmp_path / "home", require_api_key=False, ray_address="local") as ws:
        ws.use_embedder(embedder)
        ws.ingest("lib", path)
        assert ws.embeddings.embed("lib", ray=True).embedded == 30  # the session is joined as it is
        assert ws.embeddings.embed("lib").embedded == 0  # the same shards
        ws.ingest("api", path)
        with TestClient(create_app(workspace=ws)) as client:
            job = client.post("/v1/pools/api/embed", json={"ray": True}).json()
            assert job["params"] == {"pool": "api", "ray": True}
            deadline = time.monotonic() + 600  # an encoder actor starts in seconds, or minutes on a busy machine
            done = client.get(f"/v1/jobs/{job['id']}").json()
            while done["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
                time.sleep(0.2)
                done = client.get(f"/v1/jobs/{job['id']}").json()
            assert done["status"] == "succeeded", done
            assert done["result"]["embedded"] + done["result"]["cached"] == 30
        assert ws.embeddings.embed("api").embedded == 0
