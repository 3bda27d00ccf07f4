"""``"method": "auto"`` and ``"herding"`` over the REST API: the round records which method auto
chose and why."""

from __future__ import annotations

import json

from api_helpers import wait_for_job


def _seed_pool(client, data_slice, pool, n=80):
    rows = [json.loads(line) for line in data_slice("sst5", "train", n).read_text().splitlines()]
    assert client.post("/pools", json={"name": pool}).status_code == 201
    assert client.post(f"/pools/{pool}/examples", json={"records": rows, "mapping": {}}).status_code == 200
    job = wait_for_job(client, client.post(f"/pools/{pool}/embed").json())
    assert job["status"] == "succeeded", job


def _round(client, pool, body):
    job = wait_for_job(client, client.post(f"/pools/{pool}/selections", json=body).json())
    assert job["status"] == "succeeded", job
    return client.get(f"/pools/{pool}/selections/{job['result']['round']}").json()


def test_auto_chooses_herding_and_says_why(client, data_slice):
    _seed_pool(client, data_slice, "sst5-auto")
    rnd = _round(client, "sst5-auto", {"budget": 6, "method": "auto"})
    params = rnd["params"]
    assert rnd["method"] == "auto" and len(rnd["items"]) == 6
    assert params["chosen"] == "herding" and "bandwidth_used" in params["chosen_params"]
    assert params["reasons"]["share"] == 6 / 80 and "herding (the default" in params["reasons"]["why"]
    # herding by name; the first round's items count as chosen, so it picks six others
    again = _round(client, "sst5-auto", {"budget": 6, "method": "herding"})
    assert again["method"] == "herding" and again["params"]["bandwidth_used"] > 0
    assert not {i["external_id"] for i in again["items"]} & {i["external_id"] for i in rnd["items"]}


def test_auto_takes_facility_when_the_budget_buys_half_the_pool(client, data_slice):
    _seed_pool(client, data_slice, "sst5-auto-large", n=40)
    rnd = _round(client, "sst5-auto-large", {"budget": 24, "method": "auto"})
    assert rnd["params"]["chosen"] == "facility" and "large_share" in rnd["params"]["reasons"]["why"]
