"""Names registered at run time reach the API: a selection method and a retriever registered
after the server started are accepted over HTTP (selections, retrieval, prompts), unknown names
are a 422 naming the choices, and the OpenAPI document lists the registered names."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from api_helpers import wait_for_job

from fewshot.annotate import STRATEGIES, RandomSelection
from fewshot.retrieve import RETRIEVERS, RandomRetriever


class ToySelection(RandomSelection):
    """Random selection under another name."""

    name = "toy_select"


class ToyRank(RandomRetriever):
    """Random demonstrations under another name."""

    name = "toy_rank"


@pytest.fixture
def toys(server):
    """Register the toys once the module's server is up (so after the app was built)."""
    STRATEGIES.register("toy_select", ToySelection)
    RETRIEVERS.register("toy_rank", ToyRank)
    yield
    STRATEGIES.unregister("toy_select")
    RETRIEVERS.unregister("toy_rank")


def test_registered_names_reach_validation_and_openapi(server, client, toys, data_slice):
    spec = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]
    method = spec["SelectionCreate"]["properties"]["method"]
    assert method["enum"][:2] == ["votek", "votek2"] and "toy_select" in method["enum"]
    for model in ("RetrieveRequest", "PromptRequest"):
        registered, trained = spec[model]["properties"]["retriever"]["anyOf"]
        assert "dense" in registered["enum"] and "toy_rank" in registered["enum"]
        assert all(re.search(trained["pattern"], s) for s in ("udr", "udr:mix", "udr:mix:v2"))
        assert not any(re.search(trained["pattern"], s) for s in ("udr:", "udr:mix:2", "toy_rank"))
    # a registered name, or a template object (PUT /v1/pools/{pool}/template's body)
    assert "math" in spec["PromptRequest"]["properties"]["template"]["anyOf"][0]["enum"]
    assert spec["PromptRequest"]["properties"]["predictor"]["enum"] == ["knn", "logreg"]
    assert spec["PredictIn"]["properties"]["method"]["enum"] == ["knn", "logreg", "lm"]

    rows = [json.loads(line) for line in data_slice("sst5", "train", 40).read_text().splitlines()]
    assert client.post("/pools", json={"name": "toys"}).status_code == 201
    assert client.post("/pools/toys/examples", json={"records": rows}).status_code == 200
    assert wait_for_job(client, client.post("/pools/toys/embed").json())["status"] == "succeeded"

    job = wait_for_job(client, client.post("/pools/toys/selections", json={"budget": 6, "method": "toy_select"}).json())
    assert job["status"] == "succeeded", job
    rnd = client.get(f"/pools/toys/selections/{job['result']['round']}").json()
    assert rnd["method"] == "toy_select" and len(rnd["items"]) == 6
    gold = {r["id"]: r["label_text"] for r in rows}
    labels = [{"id": i["external_id"], "label": gold[i["external_id"]]} for i in rnd["items"]]
    assert client.post("/pools/toys/annotations", json={"labels": labels}).json()["applied"] == 6
    assert client.post("/pools/toys/index").status_code == 200

    r = client.post(
        "/pools/toys/retrieve", json={"queries": ["a witty film", "a dull film"], "k": 3, "retriever": "toy_rank"}
    )
    assert r.status_code == 200, r.text
    picked = {i["external_id"] for i in rnd["items"]}
    assert all(len(res) == 3 and {d["id"] for d in res} <= picked for res in r.json()["results"])
    r = client.post("/prompts", json={"pool": "toys", "query": "a witty film", "k": 2, "retriever": "toy_rank"})
    assert r.status_code == 200, r.text
    assert r.json()["retriever"] == "toy_rank" and len(r.json()["demos"]) == 2

    r = client.post("/pools/toys/retrieve", json={"queries": ["x"], "retriever": "toy_rank2"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "retriever"]
    assert "toy_rank, udr, udr:<model>, udr:<model>:v<N>" in r.json()["errors"][0]["msg"]
    r = client.post("/prompts", json={"pool": "toys", "query": "x", "template": "sonnet"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "template"]
    assert "choose from: classification" in r.json()["errors"][0]["msg"]
    r = client.post("/pools/toys/selections", json={"budget": 1, "method": "toy_selection"})
    assert r.status_code == 422 and "toy_select" in r.json()["errors"][0]["msg"]


def test_unregistered_names_are_refused_again(client, data_slice):
    r = client.post("/pools/toys/selections", json={"budget": 1, "method": "toy_select"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "method"]
    r = client.post("/pools/toys/retrieve", json={"queries": ["x"], "retriever": "toy_rank"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "retriever"]
