"""No 5xx from input (issue #12, items 4 and 6): every bad input is a 4xx problem-details answer
that keeps the connection alive, and the OpenAPI document says what the server does."""

from __future__ import annotations

import json

import httpx
import pytest

from fewshot.retrieve import Corpus, Example, Filter

PROBLEM = "application/problem+json"


def _post_raw(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


def _assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers.get("connection", "").lower() != "close"  # the keep-alive connection survives
    body = r.json()
    assert {"type", "title", "status", "code", "detail", "errors"} <= body.keys()
    assert body["status"] == status and isinstance(body["detail"], str)
    assert body["type"].endswith(body["code"])
    if code is not None:
        assert body["code"] == code, body
    return body


# A lone surrogate as JSON text (``\ud800``), and numbers JSON cannot carry.
SURROGATE = "a\\ud800b"
UNSERIALISABLE = [
    ("/prompts", '{"pool": "p5", "query": "q", "max_tokens": 1e999}', "max_tokens"),
    ("/prompts", '{"pool": "p5", "query": "q", "k": NaN}', "k"),
    ("/prompts", '{"pool": "p5", "query": "q", "max_tokens": Infinity}', "max_tokens"),
    ("/pools/p5/retrieve", '{"queries": ["q"], "k": NaN}', "k"),
    ("/udr/train", '{"pools": ["p5"], "name": "m5", "lr": NaN}', "lr"),
    ("/prompts", f'{{"pool": "p5", "query": "{SURROGATE}"}}', "query"),
    ("/pools/p5/retrieve", f'{{"queries": ["{SURROGATE}"]}}', "queries"),
    ("/pools/p5/annotations", f'{{"labels": [{{"id": "{SURROGATE}", "label": "x"}}]}}', "labels"),
    ("/pools/p5/examples", f'{{"records": [{{"id": "a", "text": "{SURROGATE}"}}]}}', "records"),
]


@pytest.mark.parametrize(("path", "body", "field"), UNSERIALISABLE)
def test_unserialisable_input_is_a_422_not_a_500(client, path, body, field):
    client.post("/pools", json={"name": "p5"})
    r = _post_raw(client, path, body.encode())
    problem = _assert_problem(r, 422, "validation_error")
    assert any(e["loc"][:2] == ["body", field] for e in problem["errors"]), problem
    assert all("input" not in e for e in problem["errors"])  # the input itself is never echoed
    assert client.get("/pools").status_code == 200  # same connection, still usable


@pytest.mark.parametrize(
    "path",
    [
        "/pools/p5/examples?offset=228411600626210337456128",
        "/pools/p5/examples?limit=99999999999999999999999",
        "/pools/p5/selections/4639747477809797753152303653715968",
        "/models/m5?version=911041797470714855424",
    ],
)
def test_integers_beyond_int64_in_paths_and_queries_are_422(client, path):
    client.post("/pools", json={"name": "p5"})
    _assert_problem(client.get(path), 422, "validation_error")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/pools/p5/selections", {"budget": 1, "seed": 2**70}, "seed"),
        ("/pools/p5/selections", {"budget": 1, "seed": -1}, "seed"),
        ("/udr/mine", {"pools": ["p5"], "seed": 2**70}, "seed"),
        ("/udr/mine", {"pools": ["p5"], "max_queries": 2**70}, "max_queries"),
        ("/prompts", {"pool": "p5", "query": "q", "reserve_tokens": 2**70}, "reserve_tokens"),
        ("/prompts", {"pool": "p5", "query": "q", "max_demo_tokens": 2**70}, "max_demo_tokens"),
    ],
)
def test_huge_body_integers_are_422(client, path, body, field):
    client.post("/pools", json={"name": "p5"})
    problem = _assert_problem(client.post(path, json=body), 422, "validation_error")
    assert ["body", field] in [e["loc"][:2] for e in problem["errors"]]


def test_booleans_are_strict(client):
    client.post("/pools", json={"name": "p5"})
    r = client.post("/pools/p5/annotations", json={"labels": [{"id": "a", "label": "x"}], "skip_invalid": 0})
    assert _assert_problem(r, 422)["errors"][0]["loc"] == ["body", "skip_invalid"]


@pytest.mark.parametrize("tokenizer", ["approx:abc", "approx:nan", "approx:5e-324"])
def test_bad_tokenizer_is_a_422(client, tokenizer):
    r = client.post("/prompts", json={"pool": "p5", "query": "q", "tokenizer": tokenizer})
    assert r.status_code == 422, r.text


def test_unparsable_body_is_a_4xx_problem(client):
    r = _post_raw(client, "/pools", b"{not json")
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(PROBLEM)
    r = _post_raw(client, "/pools", b"[" * 100_000 + b"]" * 100_000)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(PROBLEM)


def test_filter_on_a_field_no_item_has_matches_nothing():
    corpus = Corpus([Example(id="a", text="x", label=1, fields={"lang": "en"}), Example(id="b", text="y", label=0)])
    assert corpus.allowed_keys(Filter(fields={"nope": 1})).tolist() == []
    assert corpus.allowed_keys(Filter(fields={"lang": "en"})).tolist() == [0]


def test_upload_errors_name_the_uploaded_file_and_line(client, ws):
    deep = b'{"id": "1", "text": "ok"}\n{"id": "2", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    r = client.post("/pools/up5/examples/file", files={"file": ("deep.jsonl", deep)})
    problem = _assert_problem(r, 422, "invalid_input")
    assert problem["detail"].startswith("deep.jsonl, line 2:") and "nested too deeply" in problem["detail"]
    assert str(ws.settings.home) not in r.text

    csv = b'id,text\n1,"an unterminated quote\n2,second row\n3,third row\n'
    r = client.post("/pools/up5/examples/file", files={"file": ("quotes.csv", csv)})
    problem = _assert_problem(r, 422, "invalid_input")
    assert problem["detail"].startswith("quotes.csv, line 2:") and "unterminated" in problem["detail"]
    assert str(ws.settings.home) not in r.text


def test_http_errors_are_problem_details(server, client, anon):
    _assert_problem(anon.get("/pools"), 401, "unauthorized")
    _assert_problem(client.get("/pools/no-such-pool-5"), 404, "not_found")
    _assert_problem(client.get("/no-such-route"), 404, "not_found")
    client.post("/pools", json={"name": "p5"})
    _assert_problem(client.post("/pools", json={"name": "p5"}), 409, "conflict")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/pools/p5", {"GET", "DELETE"}),
        ("OPTIONS", "/pools/p5/examples", {"GET", "POST"}),
        ("PATCH", "/pools", {"GET", "POST"}),
        ("DELETE", "/health", {"GET"}),
    ],
)
def test_405_lists_every_method_of_the_path(client, method, path, allow):
    r = client.request(method, path)
    if allow is None:  # no route at that path at all
        assert r.status_code == 404
        return
    _assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["allow"].split(",")} == allow


def test_openapi_is_an_honest_contract(server):
    doc = httpx.get(server.url + "/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"] == {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    ids = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert op["operationId"].isidentifier() and "_v1_" not in op["operationId"], op["operationId"]
            params = {p["name"].lower() for p in op.get("parameters", [])}
            assert not params & {"authorization", "x-api-key"}  # keys are security, not parameters
            if path in ("/v1/health", "/v1/ready"):
                assert "security" not in op
                continue
            assert op["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}], (method, path)
            assert "401" in op["responses"], (method, path)
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    content = response["content"]
                    assert list(content) == [PROBLEM], (method, path, status)
                    assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if path != "/v1/metrics":
                assert {"403", "422"} <= op["responses"].keys(), (method, path)
            if "{pool}" in path:
                assert "404" in op["responses"], (method, path)
    assert len(ids) == len(set(ids))
    assert {"create_pool", "list_pools", "get_pool", "delete_pool", "build_prompt", "get_job"} <= set(ids)
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "detail", "errors"} <= problem["properties"].keys()


def test_docs_are_served_without_a_cdn(server):
    for page in ("/docs", "/redoc"):
        r = httpx.get(server.url + page)
        assert r.status_code == 200
        assert "cdn." not in r.text and "https://" not in r.text.replace("https://fastapi.tiangolo.com", "")
    if "/docs/assets/swagger-ui-bundle.js" in httpx.get(server.url + "/docs").text:
        r = httpx.get(server.url + "/docs/assets/swagger-ui-bundle.js")
        assert r.status_code == 200 and len(r.content) > 100_000


def test_413_is_a_problem(client, ws, monkeypatch):
    body = json.dumps({"name": "big5", "description": "y" * (ws.settings.max_request_bytes + 10)})
    r = _post_raw(client, "/pools", body.encode())
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "payload_too_large"
