"""GET/PUT /v1/pools/{pool}/template and the ``template`` of POST /v1/prompts (a name or an object)."""

from __future__ import annotations

import json

RTE = {
    "instruction": "Does the premise entail the hypothesis?",
    "input": "Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:",
    "output": " {label}",
}


def _pool(client, data_slice, dataset, pool, n, mapping):
    rows = [json.loads(line) for line in data_slice(dataset, "train", n).read_text().splitlines()]
    assert client.post("/pools", json={"name": pool, **mapping}).status_code == 201
    r = client.post(f"/pools/{pool}/examples", json={"records": rows, "mapping": {"label_field": "label_text"}})
    assert r.status_code == 200, r.text
    assert client.post(f"/pools/{pool}/index").status_code == 200
    return rows


def test_pool_template_set_once_and_used_by_prompts(client, data_slice):
    rows = _pool(client, data_slice, "rte", "tpl-rte", 30, {"template": "{premise}\nquestion: {hypothesis}"})
    r = client.get("/pools/tpl-rte/template")
    assert r.status_code == 200 and r.json()["source"] == "default" and r.json()["input"] == "Input: {text}\nLabel:"

    r = client.put("/pools/tpl-rte/template", json=RTE)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "pool" and r.json()["input"] == RTE["input"]
    assert client.get("/pools/tpl-rte/template").json() == r.json()

    query = f"{rows[0]['premise']}\nquestion: {rows[0]['hypothesis']}"
    # the pool's template needs premise/hypothesis: a text-only query is refused by field name
    r = client.post("/prompts", json={"pool": "tpl-rte", "query": query, "k": 2})
    assert r.status_code == 422 and "premise" in r.text
    # the query's fields: the prompt in the pool's own format
    fields = {"premise": rows[0]["premise"], "hypothesis": rows[0]["hypothesis"]}
    r = client.post("/prompts", json={"pool": "tpl-rte", "query": query, "query_fields": fields, "k": 3})
    assert r.status_code == 200, r.text
    text = r.json()["text"]
    assert text.startswith(RTE["instruction"] + "\n\n") and r.json()["template"] == "tpl-rte"
    assert text.endswith(f"Premise: {rows[0]['premise']}\nHypothesis: {rows[0]['hypothesis']}\nAnswer:")
    assert text.count("\nAnswer: ") == 3 and r.json()["demos"][-1]["id"] == rows[0]["id"]
    bad = {"pool": "tpl-rte", "query": query, "query_fields": {"x.y": "1"}}
    assert client.post("/prompts", json=bad).status_code == 422
    # a per-request object override over the text; a preset by name
    own = {"input": "{text}\nTrue or False?", "output": " {label}", "name": "tf"}
    r = client.post("/prompts", json={"pool": "tpl-rte", "query": query, "k": 2, "template": own})
    assert r.status_code == 200, r.text
    assert r.json()["text"].endswith(query + "\nTrue or False?") and r.json()["template"] == "tf"
    r = client.post("/prompts", json={"pool": "tpl-rte", "query": query, "k": 2, "template": "generation"})
    assert r.status_code == 422 and "'output'" in r.text  # the items have no output field

    r = client.put("/pools/tpl-rte/template", json={"input": "{text}", "instruction": "Entailment?"})
    assert r.status_code == 200
    r = client.post("/prompts", json={"pool": "tpl-rte", "query": query, "k": 2})
    assert r.status_code == 200 and r.json()["text"].startswith("Entailment?\n\n") and r.json()["template"] == "tpl-rte"


def test_trec_and_mrpc_formats(client, data_slice):
    _pool(client, data_slice, "trec", "tpl-trec", 30, {})
    r = client.put("/pools/tpl-trec/template", json={"input": "Question: {text}\nType:", "separator": "\n"})
    assert r.status_code == 200
    r = client.post("/prompts", json={"pool": "tpl-trec", "query": "Who wrote Hamlet ?", "k": 3})
    assert r.status_code == 200 and r.json()["text"].endswith("\nQuestion: Who wrote Hamlet ?\nType:")
    assert "\n\n" not in r.json()["text"]

    _pool(client, data_slice, "mrpc", "tpl-mrpc", 30, {"template": "{sentence1} || {sentence2}"})
    body = {"input": "S1: {sentence1}\nS2: {sentence2}\nParaphrase?", "output": " {label_text}"}
    assert client.put("/pools/tpl-mrpc/template", json=body).status_code == 200
    r = client.get("/pools/tpl-mrpc/template").json()
    assert r["output"] == " {label_text}" and r["source"] == "pool"


def test_bad_templates_are_422_naming_the_field(client, data_slice):
    _pool(client, data_slice, "sst5", "tpl-sst5", 20, {})
    r = client.put("/pools/tpl-sst5/template", json=RTE)
    assert r.status_code == 422 and "premise" in r.json()["detail"]
    for bad in ("{text.__class__}", "{text[0]}", "{text!r}", "{}"):
        r = client.put("/pools/tpl-sst5/template", json={"input": bad})
        assert r.status_code == 422, bad
    r = client.put("/pools/tpl-sst5/template", json={"input": "{text}", "code": "x"})
    assert r.status_code == 422
    r = client.post("/prompts", json={"pool": "tpl-sst5", "query": "x", "template": "/etc/passwd"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "template"]
    assert client.get("/pools/nope-tpl/template").status_code == 404
    # reset: back to the default
    assert client.put("/pools/tpl-sst5/template", json={"input": "R: {text}"}).status_code == 200
    r = client.put("/pools/tpl-sst5/template")
    assert r.status_code == 200 and r.json()["source"] == "default"


def test_prompt_template_at_pool_creation(client):
    body = {"name": "tpl-made", "prompt_template": {"input": "Q: {question}\nA:", "output": " {answer}"}}
    assert client.post("/pools", json=body).status_code == 201
    r = client.get("/pools/tpl-made/template").json()
    assert r["source"] == "pool" and r["input"] == "Q: {question}\nA:" and r["name"] == "tpl-made"
    r = client.post("/pools", json={"name": "tpl-bad", "prompt_template": {"input": "{q.__class__}"}})
    assert r.status_code == 422 and client.get("/pools/tpl-bad").status_code == 404
