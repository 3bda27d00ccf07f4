"""Partitioned selection over the REST API: ``partitions`` (with ``oversample``, ``final``) runs
as a job; ``ray`` only asks for the operator's cluster and is refused when none is configured."""

from __future__ import annotations

import json

from api_helpers import wait_for_job


def test_partitioned_selection_job(client, data_slice):
    rows = [json.loads(line) for line in data_slice("sst5", "train", 90).read_text().splitlines()]
    assert client.post("/pools", json={"name": "parts"}).status_code == 201
    assert client.post("/pools/parts/examples", json={"records": rows, "mapping": {}}).status_code == 200
    assert wait_for_job(client, client.post("/pools/parts/embed").json())["status"] == "succeeded"
    body = {"budget": 6, "method": "facility", "k": 8, "partitions": 3, "oversample": 1.5}
    job = wait_for_job(client, client.post("/pools/parts/selections", json=body).json())
    assert job["status"] == "succeeded", job
    params = client.get(f"/pools/parts/selections/{job['result']['round']}").json()["params"]
    assert params["n_partitions"] == 3 and params["final"] == "merge" and params["oversample"] == 1.5
    for bad, loc, msg in (
        ({"budget": 3, "final": "merge"}, ["body"], "final only apply with partitions"),
        ({"budget": 3, "ray": True}, ["body"], "ray only apply with partitions"),
        ({"budget": 3, "partitions": 2, "final": "best"}, ["body", "final"], "final must be one of"),
        ({"budget": 3, "partitions": 0}, ["body", "partitions"], "greater than 0"),
        ({"budget_cost": 3, "cost": "1", "partitions": 2}, ["body"], "count budget"),
    ):
        r = client.post("/pools/parts/selections", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["loc"] == loc and msg in r.json()["errors"][0]["msg"], (bad, r.json())
    r = client.post("/pools/parts/selections", json={"budget": 3, "partitions": 2, "ray": True})
    assert r.status_code == 422 and "no Ray cluster configured" in r.text
    assert client.get("/pools/parts/selections").json()["count"] == 1
