"""Index, retrieve and prompts over HTTP (real uvicorn server), with provenance."""

from __future__ import annotations

import json


def _labeled_pool(client, data_slice, pool, n=80):
    """A new labeled SST-5 pool ``pool`` (each test names its own: the module shares one workspace)."""
    rows = [json.loads(line) for line in data_slice("sst5", "train", n).read_text().splitlines()]
    assert client.post("/pools", json={"name": pool}).status_code == 201
    r = client.post(f"/pools/{pool}/examples", json={"records": rows, "mapping": {"label_field": "label_text"}})
    assert r.status_code == 200, r.text
    return rows


def test_index_retrieve_prompt_and_provenance(client, data_slice):
    rows = _labeled_pool(client, data_slice, "sst5")
    assert client.get("/pools/sst5/index").status_code == 404
    r = client.post("/pools/sst5/index")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["count"] == 80
    assert client.post("/pools/sst5/index").json()["changed"] is False

    query = rows[3]["text"]
    r = client.post("/pools/sst5/retrieve", json={"queries": [query, "a dull film"], "k": 5})
    assert r.status_code == 200
    res = r.json()["results"]
    assert len(res) == 2 and len(res[0]) == 5 and res[0][0]["id"] == rows[3]["id"]  # itself first
    r = client.post(
        "/pools/sst5/retrieve",
        json={"queries": [query], "k": 5, "filter": {"labels": ["great"], "exclude_ids": [rows[3]["id"]]}},
    )
    got = r.json()["results"][0]
    assert len(got) == 5 and all(d["label"] == "great" and d["id"] != rows[3]["id"] for d in got)

    r = client.post("/prompts", json={"pool": "sst5", "query": "a gorgeous, witty film", "k": 8, "max_tokens": 400})
    assert r.status_code == 200, r.text
    prompt = r.json()
    assert len(prompt["demos"]) == 8 and prompt["n_tokens"] <= 400 - 16
    assert prompt["text"].endswith("Input: a gorgeous, witty film\nLabel:")  # the derived default
    assert prompt["messages"][-1] == {"role": "user", "content": "Input: a gorgeous, witty film\nLabel:"}
    ranks = [d["rank"] for d in prompt["demos"]]
    assert ranks == sorted(ranks, reverse=True)  # most similar next to the query
    log = client.get(f"/prompts/{prompt['id']}").json()
    assert log["demo_ids"] == [d["id"] for d in prompt["demos"]] and log["pool"] == "sst5"
    assert log["params"]["index_version"] == 1
    assert client.get("/prompts/nope").status_code == 404


def test_new_labels_reach_the_index_incrementally(client, data_slice):
    _labeled_pool(client, data_slice, "sst5-new", n=40)
    client.post("/pools/sst5-new/index")
    extra = {"id": "new-1", "text": "an utterly transcendent masterpiece of cinema", "label_text": "great"}
    client.post("/pools/sst5-new/examples", json={"records": [extra], "mapping": {"label_field": "label_text"}})
    r = client.post("/pools/sst5-new/index").json()
    assert r["version"] == 2 and r["count"] == 41 and r["changed"]
    top = client.post("/pools/sst5-new/retrieve", json={"queries": [extra["text"]], "k": 1}).json()
    assert top["index_version"] == 2 and top["results"][0][0]["id"] == "new-1"


def test_retrieval_validation_and_pool_limits(server, ws, client, data_slice):
    _labeled_pool(client, data_slice, "sst5-small", n=20)
    client.post("/pools/sst5-small/index")
    r = client.post("/pools/sst5-small/retrieve", json={"queries": [], "k": 3})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "queries"]
    r = client.post("/pools/sst5-small/retrieve", json={"queries": ["x"], "retriever": "magic"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "retriever"]
    r = client.post("/prompts", json={"pool": "sst5-small", "query": "x", "max_tokens": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "max_tokens"]
    r = client.post("/prompts", json={"pool": "sst5-small", "query": "x " * 500, "max_tokens": 50})
    assert r.status_code == 422 and "the query alone needs" in r.json()["detail"]
    r = client.post("/prompts", json={"pool": "nope", "query": "x"})
    assert r.status_code == 404
    other, _ = ws.keys.create("other", pools=["elsewhere"])
    import httpx

    with httpx.Client(base_url=server.url + "/v1", headers={"X-API-Key": other}) as c:
        assert c.post("/prompts", json={"pool": "sst5-small", "query": "x"}).status_code == 403
        assert c.post("/pools/sst5-small/retrieve", json={"queries": ["x"]}).status_code == 403
