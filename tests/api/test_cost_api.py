"""Cost-aware selection over the REST API: ``budget_cost`` and ``cost`` on a selection request."""

from __future__ import annotations

import json

from api_helpers import wait_for_job


def _seed_pool(client, data_slice, pool, n=80):
    rows = [json.loads(line) for line in data_slice("sst5", "train", n).read_text().splitlines()]
    for i, r in enumerate(rows):
        r["minutes"] = 1 + i % 3
    assert client.post("/pools", json={"name": pool}).status_code == 201
    assert client.post(f"/pools/{pool}/examples", json={"records": rows, "mapping": {}}).status_code == 200
    job = wait_for_job(client, client.post(f"/pools/{pool}/embed").json())
    assert job["status"] == "succeeded", job
    return rows


def test_select_under_a_cost_budget(client, data_slice):
    rows = _seed_pool(client, data_slice, "sst5-cost")
    minutes = {r["id"]: r["minutes"] for r in rows}
    body = {"budget_cost": 12, "cost": "field:minutes", "method": "ideal"}
    job = wait_for_job(client, client.post("/pools/sst5-cost/selections", json=body).json())
    assert job["status"] == "succeeded", job
    result = job["result"]
    rnd = client.get(f"/pools/sst5-cost/selections/{result['round']}").json()
    spent = sum(minutes[i["external_id"]] for i in rnd["items"])
    assert result["total_cost"] == rnd["params"]["total_cost"] == spent <= 12
    assert result["budget_cost"] == 12 and rnd["params"]["cost"] == "field:minutes"
    assert rnd["budget"] == len(rnd["items"]) > 12 / 3  # cheaper items first: more than the dearest allow
    # the pool keeps the spec: a second round without "cost"
    job = wait_for_job(client, client.post("/pools/sst5-cost/selections", json={"budget_cost": 4}).json())
    assert job["status"] == "succeeded" and job["result"]["total_cost"] <= 4
    # a count-based round on a pool with a cost reports its total cost too
    job = wait_for_job(client, client.post("/pools/sst5-cost/selections", json={"budget": 3}).json())
    assert job["status"] == "succeeded" and job["result"]["budget"] == 3 and job["result"]["total_cost"] >= 3


def test_cost_validation(client, data_slice):
    _seed_pool(client, data_slice, "sst5-cost-bad", n=20)
    for body, loc in (
        ({"budget": 3, "budget_cost": 5}, ["body"]),
        ({}, ["body"]),
        ({"budget_cost": 0}, ["body", "budget_cost"]),
        ({"budget_cost": "NaN"}, ["body", "budget_cost"]),
        ({"budget_cost": True}, ["body", "budget_cost"]),
        ({"budget_cost": 5, "cost": "pages:3"}, ["body", "cost"]),
    ):
        r = client.post("/pools/sst5-cost-bad/selections", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["loc"] == loc, (body, r.json())
    r = client.post("/pools/sst5-cost-bad/selections", json={"budget": 3, "budget_cost": 5})
    assert "exactly one of budget" in r.json()["errors"][0]["msg"]
    r = client.post("/pools/sst5-cost-bad/selections", json={"budget_cost": 5, "cost": "pages:3"})
    assert "unknown term 'pages:3'" in r.json()["errors"][0]["msg"]
    job = wait_for_job(client, client.post("/pools/sst5-cost-bad/selections", json={"budget_cost": 5}).json())
    assert job["status"] == "failed" and "has no annotation cost" in job["error"]
    body = {"budget_cost": 5, "cost": "field:seconds"}
    job = wait_for_job(client, client.post("/pools/sst5-cost-bad/selections", json=body).json())
    assert job["status"] == "failed" and "item 'sst5-train-0' has no cost field 'seconds'" in job["error"]
    assert client.get("/pools/sst5-cost-bad/selections").json()["count"] == 0


def test_selection_with_an_approximate_graph(client, data_slice):
    """``approx``/``nprobe``/``nlist`` reach a graph method's graph and are recorded; anything else is a 422."""
    _seed_pool(client, data_slice, "sst5-approx", n=60)
    body = {"budget": 4, "method": "facility", "k": 8, "approx": "ivf", "nprobe": 2}
    job = wait_for_job(client, client.post("/pools/sst5-approx/selections", json=body).json())
    assert job["status"] == "succeeded", job
    params = client.get(f"/pools/sst5-approx/selections/{job['result']['round']}").json()["params"]
    assert params["approx"] == "ivf" and params["nprobe"] == 2 and params["exact_graph"] is False
    for bad, loc, msg in (
        ({"budget": 3, "approx": "annoy"}, ["body", "approx"], "approx must be one of ivf, hnsw"),
        ({"budget": 3, "nprobe": 0}, ["body", "nprobe"], "greater than 0"),
        ({"budget": 3, "nlist": True}, ["body", "nlist"], ""),
        ({"budget": 3, "method": "random", "approx": "ivf"}, ["body"], "method 'random' takes none"),
    ):
        r = client.post("/pools/sst5-approx/selections", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["loc"] == loc and msg in r.json()["errors"][0]["msg"], (bad, r.json())
    job = wait_for_job(
        client, client.post("/pools/sst5-approx/selections", json={"budget": 3, "approx": "hnsw", "nprobe": 2}).json()
    )
    assert job["status"] == "failed" and "nprobe are IVF settings" in job["error"]
