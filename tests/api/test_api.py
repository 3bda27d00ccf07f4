"""REST API over a real uvicorn server: every route's auth and validation, jobs, round trips."""

from __future__ import annotations

import json
import re

import httpx
from api_helpers import wait_for_job

from fewshot.api import create_app


def _seed_pool(client, data_slice, pool, n=60, dataset="sst5", labels=False):
    """A new pool ``pool`` (each test names its own: the module's tests share one workspace)."""
    rows = [json.loads(line) for line in data_slice(dataset, "train", n).read_text().splitlines()]
    assert client.post("/pools", json={"name": pool}).status_code == 201
    body = {"records": rows, "mapping": {"label_field": "label_text"} if labels else {}}
    r = client.post(f"/pools/{pool}/examples", json=body)
    assert r.status_code == 200, r.text
    return rows


def test_health_and_ready_need_no_key(anon):
    assert anon.get("/health").json()["status"] == "ok"
    ready = anon.get("/ready").json()
    assert ready["status"] == "ready" and ready["schema"]


def test_every_other_route_needs_a_valid_key(server, anon):
    spec = httpx.get(server.url + "/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "x", path).removeprefix("/v1")
        for method in ops:
            for headers in ({}, {"Authorization": "Bearer fsk_wrong"}, {"X-API-Key": "nope"}):
                r = anon.request(method.upper(), url, headers=headers)
                if path in ("/v1/health", "/v1/ready"):
                    assert r.status_code in (200, 503)
                else:
                    assert r.status_code == 401, (method, path, r.status_code)
                    assert "API key" in r.json()["detail"]
            checked += 1
    assert checked >= 14


def test_revoked_and_pool_limited_keys(server, ws, client):
    client.post("/pools", json={"name": "a"})
    client.post("/pools", json={"name": "b"})
    limited, _ = ws.keys.create("only-a", pools=["a"])
    with httpx.Client(base_url=server.url + "/v1", headers={"X-API-Key": limited}) as c:
        assert [p["name"] for p in c.get("/pools").json()["data"]] == ["a"]
        assert c.get("/pools/a").status_code == 200
        r = c.get("/pools/b")
        assert r.status_code == 403 and "may not access pool 'b'" in r.json()["detail"]
        assert c.get("/pools/b/examples").status_code == 403
        assert c.post("/pools/b/selections", json={"budget": 1}).status_code == 403
        assert c.post("/pools/b/index").status_code == 403
        assert c.post("/pools", json={"name": "c"}).status_code == 403
        assert c.post("/prompts", json={"pool": "b", "query": "x"}).status_code == 403
        r = c.post("/udr/mine", json={"pools": ["a", "b"]})
        assert r.status_code == 403 and "may not access pool 'b'" in r.json()["detail"]
        job_b = client.post("/pools/b/embed").json()  # a job over pool b is b's
        assert c.get(f"/jobs/{job_b['id']}").status_code == 403
        assert client.get(f"/jobs/{job_b['id']}").status_code == 200
    ws.keys.revoke([k for k in ws.keys.all() if k.name == "only-a"][0].id)
    assert httpx.get(server.url + "/v1/pools", headers={"X-API-Key": limited}).status_code == 401


def test_pools_crud_and_errors(client):
    r = client.post("/pools", json={"name": "rte", "template": "{premise}\nquestion: {hypothesis}"})
    assert r.status_code == 201 and r.json()["template"].endswith("{hypothesis}")
    assert client.post("/pools", json={"name": "rte"}).status_code == 409
    r = client.post("/pools", json={"nam": "typo"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"]
    r = client.post("/pools", json={"name": "bad", "template": "constant"})
    assert r.status_code == 422 and "references no field" in r.json()["detail"]
    names = [p["name"] for p in client.get("/pools").json()["data"]]
    assert "rte" in names and "bad" not in names
    r = client.get("/pools/nope")
    assert r.status_code == 404 and "pool 'nope' does not exist" in r.json()["detail"]
    assert client.delete("/pools/rte").status_code == 204
    assert client.get("/pools/rte").status_code == 404


def test_examples_json_and_upload(client, data_slice):
    rows = _seed_pool(client, data_slice, "sst5-examples", n=30)
    listed = client.get("/pools/sst5-examples/examples", params={"limit": 5}).json()
    assert listed["count"] == 5 and listed["data"][0]["external_id"] == rows[0]["id"]
    r = client.get("/pools/sst5-examples/examples", params={"status": "done"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "status"]
    r = client.post("/pools/sst5-examples/examples", json={"records": [{"id": "z", "text": 5}]})
    assert r.status_code == 422 and "line 1, field 'text': expected a string" in r.json()["detail"]
    assert client.get("/pools/sst5-examples").json()["size"] == 30  # nothing half-written
    path = data_slice("trec", "train", 25)
    with open(path, "rb") as fh:
        r = client.post(
            "/pools/trec/examples/file", files={"file": ("trec.jsonl", fh)}, data={"label_field": "label_text"}
        )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 25 and r.json()["source"] == "trec.jsonl"
    assert client.get("/pools/trec/examples", params={"status": "labeled"}).json()["count"] == 25


def test_embed_and_select_jobs_then_annotate(client, data_slice):
    rows = _seed_pool(client, data_slice, "sst5-select", n=80)
    job = client.post("/pools/sst5-select/embed").json()
    assert job["status"] in ("pending", "running", "succeeded")
    job = wait_for_job(client, job)
    assert job["status"] == "succeeded" and job["result"]["embedded"] == 80
    r = client.post("/pools/sst5-select/selections", json={"budget": 8, "method": "votek", "k": 10})
    assert r.status_code == 202
    job = wait_for_job(client, r.json())
    assert job["status"] == "succeeded", job
    rnd = client.get(f"/pools/sst5-select/selections/{job['result']['round']}").json()
    assert len(rnd["items"]) == 8 and rnd["method"] == "votek"
    assert client.get("/pools/sst5-select/selections").json()["count"] == 1
    gold = {r["id"]: r["label_text"] for r in rows}
    labels = [{"id": i["external_id"], "label": gold[i["external_id"]]} for i in rnd["items"]]
    r = client.post("/pools/sst5-select/annotations", json={"labels": labels})
    assert r.status_code == 200 and r.json()["applied"] == 8
    assert client.get("/pools/sst5-select").json()["counts"]["labeled"] == 8
    bad = [{"id": "ghost", "label": "x"}, {"id": labels[0]["id"], "label": "other"}]
    r = client.post("/pools/sst5-select/annotations", json={"labels": bad})
    assert r.status_code == 422
    assert [p["kind"] for p in r.json()["problems"]] == ["unknown_id", "conflicts_stored"]
    r = client.post("/pools/sst5-select/selections", json={"budget": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "budget"]
    r = client.post("/pools/sst5-select/selections", json={"budget": 5, "method": "magic"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "method"]
    assert "choose from: votek, votek2" in r.json()["errors"][0]["msg"]


def test_failed_job_reports_the_error(client, data_slice):
    _seed_pool(client, data_slice, "sst5-unembedded", n=10)
    job = wait_for_job(client, client.post("/pools/sst5-unembedded/selections", json={"budget": 5}).json())
    assert job["status"] == "failed" and "run `fewshot embed` first" in job["error"]
    assert client.get("/jobs/unknown").status_code == 404


def test_jobs_survive_a_restart(ws, data_slice, api_key, live_server):
    path = data_slice("sst5", "train", 40)
    ws.ingest("sst5-restart", path)
    pool_id = ws.get_pool("sst5-restart").id
    pending = ws.job_runner().submit("embed", {"pool": "sst5-restart"}, pool_id=pool_id)  # never started: a "crash"
    assert pending["status"] == "pending"
    with live_server(create_app(workspace=ws)) as live:
        with httpx.Client(base_url=live.url + "/v1", headers={"X-API-Key": api_key}) as c:
            job = wait_for_job(c, c.get(f"/jobs/{pending['id']}").json())
    assert job["status"] == "succeeded" and job["result"]["embedded"] == 40


def test_request_size_limit_and_no_stack_traces(ws, api_key, live_server, monkeypatch):
    monkeypatch.setattr(ws.settings, "max_request_bytes", 2048)  # the module's workspace outlives this test
    with live_server(create_app(workspace=ws)) as live:
        with httpx.Client(base_url=live.url + "/v1", headers={"X-API-Key": api_key}) as c:
            r = c.post("/pools", json={"name": "x", "description": "y" * 5000})
            assert r.status_code == 413 and "larger than 2048 bytes" in r.json()["detail"]

            def chunks():
                for _ in range(10):
                    yield b"x" * 1000

            r = c.post("/pools", content=chunks(), headers={"content-type": "application/json"})
            assert r.status_code == 413
            live.server.config.app.state.workspace = _Broken(ws)
            r = c.get("/pools")
            assert (
                r.status_code == 500
                and r.json()["detail"] == "internal server error"
                and r.json()["code"] == "internal"
            )
            assert "Traceback" not in r.text


class _Broken:
    """Delegates to a real workspace but fails on list_pools, to reach the 500 handler."""

    def __init__(self, ws):
        self._ws = ws

    def __getattr__(self, name):
        return getattr(self._ws, name)

    def list_pools(self):
        raise RuntimeError("secret internal detail")


def test_metrics_count_requests(client, data_slice):
    client.get("/pools")
    text = client.get("/metrics").text
    assert 'fewshot_requests_total{method="GET",route="/v1/pools",status="200"}' in text
    assert "fewshot_request_seconds_bucket" in text
    _seed_pool(client, data_slice, "metered", n=30, labels=True)
    assert client.post("/pools/metered/index").status_code == 200
    before = _counter(client.get("/metrics").text, "fewshot_search_queries_total")
    for query in ("a fine film", "a dull one"):
        assert client.post("/prompts", json={"pool": "metered", "query": query, "k": 2}).status_code == 200
    text = client.get("/metrics").text
    assert _counter(text, "fewshot_search_queries_total") == before + 2  # each prompt's search, batched
    assert 1 <= _counter(text, "fewshot_search_calls_total") <= before + 2
    assert 'route="/v1/prompts",status="200"' in text


def _counter(text: str, name: str) -> float:
    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


def test_openapi_has_examples(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["PoolCreate"]["examples"] and schemas["SelectionCreate"]["examples"]
