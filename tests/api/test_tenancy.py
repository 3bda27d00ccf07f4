"""Tenancy over HTTP: a key limited to pool A is refused everything of pool B, on every route.

Two pools, ``tenA`` and ``tenB``, each with labeled and unlabeled items, an index, a selection
round, a logged prompt, jobs of every kind and a (tiny, untrained) UDR model trained on it alone,
plus a model trained on both. `test_every_route_refuses_a_foreign_pool_key` walks the app's own
OpenAPI document: each operation must be in `CASES` (a concrete request against pool B's
resources) or in `POOL_LESS` (with the reason it touches no pool), so a route added without access
control, or without a case here, fails the test.

Access rule per resource (decided by `fewshot.api.deps.PoolGuard`): pools and everything under
``/pools/{pool}`` -> 403 when the key does not allow the name (existing or not); jobs -> 403 unless
the key allows every pool of the job's params (``pool``/``pools``); prompt logs -> 403 unless it
allows the prompt's pool; UDR jobs -> 403 for any pool of ``pools``; trained models -> invisible
(left out of lists, 404 like a missing model, also as ``"retriever": "udr:<name>"``) unless the key
allows every pool the model was trained on.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

A, B = "tenA", "tenB"
SECRET = "tenB-secret-instruction"
QUERY = "a gorgeous , witty , seductive movie ."


@dataclass
class World:
    """What each pool owns: a round number, job ids by kind, a prompt id, a model name, an item id."""

    key_a: str
    rounds: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, dict[str, str]] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)


_WORLDS: dict[int, World] = {}


def _pending_job(ws, kind: str, params: dict[str, Any], pool_id: int | None = None) -> str:
    from fewshot.store import jobs as job_rows

    with ws.session() as s:
        return job_rows.create_job(s, job_id=uuid.uuid4().hex, kind=kind, pool_id=pool_id, params=params)["id"]


@pytest.fixture
def world(server, data_slice) -> World:
    """Both pools with everything they can own (built once per module and backend)."""
    ws = server.ws
    if id(ws) in _WORLDS:
        return _WORLDS[id(ws)]
    from fewshot.embed import load_sentence_transformer
    from fewshot.udr import UDRModel, prepare_model

    rows = [json.loads(line) for line in data_slice("sst5", "train", 36).read_text().splitlines()]
    encoder = prepare_model(copy.deepcopy(load_sentence_transformer("all-MiniLM-L6-v2", device="cpu")))
    secret, _ = ws.keys.create("tenancy-a", pools=[A])
    w = World(key_a=secret)
    for pool in (A, B):
        labeled = [{"id": r["id"], "text": r["text"], "label": r["label_text"]} for r in rows[:24]]
        ws.add_records(pool, labeled, label_field="label", create=True)
        ws.add_records(pool, [{"id": r["id"], "text": r["text"]} for r in rows[24:]])
        ws.embed(pool)
        w.rounds[pool] = ws.select(pool, budget=2, method="random").number
        ws.build_index(pool)
        _prompt, w.prompts[pool] = ws.build_prompt(pool, QUERY, k=2)
        _wait_for(lambda p=pool: _logged(ws, w.prompts[p]))  # prompt logs may be written in batches
        pool_id = ws.pools.ref(pool)[0]
        w.jobs[pool] = {
            "embed": _pending_job(ws, "embed", {"pool": pool}, pool_id),
            "select": _pending_job(ws, "select", {"pool": pool, "budget": 1}, pool_id),
            "udr_mine": _pending_job(ws, "udr_mine", {"pools": [pool], "lm": "smollm2"}),
            "udr_train": _pending_job(ws, "udr_train", {"name": f"{pool}m", "pools": [pool], "lm": "smollm2"}),
        }
        w.models[pool] = f"{pool}m"
        ws.udr.save_model(f"{pool}m", UDRModel(encoder, {pool: f"{pool}: "}), base_model="all-MiniLM-L6-v2")
        w.items[pool] = rows[0]["id"]
    mixed = UDRModel(encoder, {A: "A: ", B: SECRET})
    ws.udr.save_model("tenmix", mixed, params={"pools": [A, B], "instructions": {B: SECRET}})
    w.jobs["none"] = {"orphan": _pending_job(ws, "udr_mine", {})}
    _WORLDS[id(ws)] = w
    return w


@dataclass(frozen=True)
class Case:
    """A request against pool ``{P}``'s resources (``{P}`` is replaced by the pool's name)."""

    json: Any = None
    files: bool = False  # a one-line JSONL upload
    params: dict[str, str] | None = None
    hidden: bool = False  # a list route: 200, with pool B's objects left out


#: Every operation that touches a pool's resources -> a concrete request for pool {P}.
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/pools"): Case(json={"name": "{P}"}),
    ("GET", "/v1/pools/{pool}"): Case(),
    ("DELETE", "/v1/pools/{pool}"): Case(),
    ("POST", "/v1/pools/{pool}/examples"): Case(json={"records": [{"id": "tenancy-x", "text": "new text"}]}),
    ("GET", "/v1/pools/{pool}/examples"): Case(params={"limit": "5"}),
    ("POST", "/v1/pools/{pool}/examples/file"): Case(files=True),
    ("POST", "/v1/pools/{pool}/embed"): Case(),
    ("POST", "/v1/pools/{pool}/selections"): Case(json={"budget": 1, "method": "random"}),
    ("GET", "/v1/pools/{pool}/selections"): Case(),
    ("GET", "/v1/pools/{pool}/selections/{number}"): Case(),
    ("POST", "/v1/pools/{pool}/annotations"): Case(json={"labels": [{"id": "{item}", "label": "great"}]}),
    ("GET", "/v1/jobs/{job_id}"): Case(),
    ("POST", "/v1/pools/{pool}/index"): Case(json={"kind": "auto"}),
    ("GET", "/v1/pools/{pool}/index"): Case(),
    ("POST", "/v1/pools/{pool}/retrieve"): Case(json={"queries": [QUERY], "k": 2}),
    ("POST", "/v1/prompts"): Case(json={"pool": "{P}", "query": QUERY, "k": 2}),
    ("GET", "/v1/prompts/{prompt_id}"): Case(),
    ("GET", "/v1/pools/{pool}/template"): Case(),
    ("PUT", "/v1/pools/{pool}/template"): Case(json={"input": "Input: {text}\nLabel:"}),
    ("GET", "/v1/pools/{pool}/skills"): Case(),
    ("PUT", "/v1/pools/{pool}/skills"): Case(json={"skills": None}),
    ("POST", "/v1/pools/{pool}/skills/edit"): Case(json={"ids": ["{item}"], "add": ["tone"]}),
    ("GET", "/v1/pools/{pool}/difficulty"): Case(),
    ("PUT", "/v1/pools/{pool}/difficulty"): Case(json={}),
    ("POST", "/v1/pools/{pool}/skills/predict"): Case(json={"queries": [QUERY]}),
    # one of the server's configured LMs, on one query: the control request (pool A) queues a small job
    ("POST", "/v1/udr/mine"): Case(json={"pools": ["{P}"], "lm": "smollm2", "n_candidates": 1, "max_queries": 1}),
    ("POST", "/v1/udr/train"): Case(
        json={"name": "tenancy-new", "pools": ["{P}"], "lm": "smollm2", "n_candidates": 1, "max_queries": 1}
    ),
    ("GET", "/v1/models"): Case(hidden=True),
    ("GET", "/v1/models/{name}"): Case(),
}

#: Operations that touch no pool's resources, and why.
POOL_LESS: dict[tuple[str, str], str] = {
    ("GET", "/v1/health"): "liveness: the version only, no key needed",
    ("GET", "/v1/ready"): "readiness: the schema version only, no key needed",
    ("GET", "/v1/metrics"): "request counts per route template and the queue length; no pool names or data",
    ("GET", "/v1/pools"): "lists only the pools the key allows (checked in test_lists_leave_out_foreign_objects)",
}

#: Status codes that say "not yours" (403) or "does not exist for you" (404: trained models).
REFUSED = {403, 404}


def _operations(server) -> set[tuple[str, str]]:
    doc = httpx.get(server.url + "/openapi.json", timeout=30).json()
    methods = {"get", "post", "put", "patch", "delete"}
    return {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops if m in methods}


def _fill(value: Any, pool: str, w: World) -> Any:
    if isinstance(value, str):
        return value.replace("{P}", pool).replace("{item}", w.items[pool])
    if isinstance(value, list):
        return [_fill(v, pool, w) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, pool, w) for k, v in value.items()}
    return value


def _send(c: httpx.Client, method: str, path: str, case: Case, pool: str, w: World) -> httpx.Response:
    url = (
        path.removeprefix("/v1")
        .replace("{pool}", pool)
        .replace("{number}", str(w.rounds[pool]))
        .replace("{job_id}", w.jobs[pool]["udr_mine"])
        .replace("{prompt_id}", w.prompts[pool])
        .replace("{name}", w.models[pool])
    )
    assert "{" not in url, f"no value for a path parameter of {method} {path}: add it to _send"
    kwargs: dict[str, Any] = {"params": case.params}
    if case.json is not None:
        kwargs["json"] = _fill(case.json, pool, w)
    if case.files:
        line = json.dumps({"id": "tenancy-up", "text": "uploaded text"}) + "\n"
        kwargs["files"] = {"file": ("up.jsonl", line.encode(), "application/json")}
    return c.request(method, url, **kwargs)


@pytest.fixture
def key_a(server, world) -> Any:
    with httpx.Client(base_url=server.url + "/v1", headers={"X-API-Key": world.key_a}, timeout=120) as c:
        yield c


def test_every_route_refuses_a_foreign_pool_key(server, world, key_a, client):
    operations = _operations(server)
    assert not set(CASES) & set(POOL_LESS)
    missing = operations - set(CASES) - set(POOL_LESS)
    assert not missing, f"routes without a tenancy case (add one to CASES, or to POOL_LESS with a reason): {missing}"
    assert not (set(CASES) | set(POOL_LESS)) - operations, "cases for routes that no longer exist"

    order = sorted(CASES, key=lambda op: op[0] == "DELETE")  # deletions last
    for method, path in order:
        case = CASES[(method, path)]
        r = _send(key_a, method, path, case, B, world)
        if case.hidden:
            assert r.status_code == 200, (method, path, r.text)
            assert B not in r.text and SECRET not in r.text, (method, path, r.text)
            continue
        assert r.status_code in REFUSED, (method, path, r.status_code, r.text)
        assert SECRET not in r.text and "known" not in r.text, (method, path, r.text)
        if r.status_code == 404:  # only models may be "not found" for a key: they must not look like they exist
            assert path.startswith("/v1/models"), (method, path, r.text)

    # the control: the same requests on the key's own pool are not refused (the refusal above came
    # from tenancy, not from a bad request); the deletion is checked by B still being there
    for method, path in order:
        if method == "DELETE":
            continue
        r = _send(key_a, method, path, CASES[(method, path)], A, world)
        assert r.status_code not in {401, 403, 404}, (method, path, r.status_code, r.text)
    assert client.get(f"/pools/{B}").status_code == 200


def test_jobs_of_every_kind_check_their_pools(world, key_a, client):
    for kind, job_id in world.jobs[B].items():
        assert key_a.get(f"/jobs/{job_id}").status_code == 403, kind  # UDR jobs name ``pools``
        assert client.get(f"/jobs/{job_id}").status_code == 200, kind
    for kind, job_id in world.jobs[A].items():
        assert key_a.get(f"/jobs/{job_id}").status_code == 200, kind
    orphan = world.jobs["none"]["orphan"]
    assert key_a.get(f"/jobs/{orphan}").status_code == 403  # a job naming no pool: unlimited keys only
    assert client.get(f"/jobs/{orphan}").status_code == 200


def test_lists_leave_out_foreign_objects(world, key_a, client):
    assert [p["name"] for p in key_a.get("/pools").json()["data"]] == [A]
    assert {B, A} <= {p["name"] for p in client.get("/pools").json()["data"]}

    mine = key_a.get("/models").json()
    assert [m["spec"] for m in mine] == ["udr:tenAm:v1"]  # not tenBm, not tenmix (trained on B too)
    assert all("path" not in m for m in mine)
    everything = client.get("/models").json()
    assert {m["name"] for m in everything} == {"tenAm", "tenBm", "tenmix"}
    assert all("path" not in m for m in everything)  # never a server path, whatever the key
    assert key_a.get("/models", params={"name": "tenmix"}).json() == []
    assert client.get("/models/tenmix").json()["params"]["instructions"] == {B: SECRET}

    missing = key_a.get("/models/tenmix")
    assert missing.status_code == 404 and SECRET not in missing.text
    assert missing.json()["detail"] == key_a.get("/models/never-trained").json()["detail"].replace(
        "never-trained", "tenmix"
    )  # the same answer as for a model that does not exist
    assert key_a.get("/models/tenmix", params={"version": 1}).status_code == 404
    assert key_a.get("/models/tenAm").json()["spec"] == "udr:tenAm:v1"


@pytest.mark.parametrize("route", ["retrieve", "prompts"])
def test_udr_retriever_trained_on_a_foreign_pool_is_not_found(world, key_a, client, route):
    def call(c: httpx.Client, retriever: str) -> httpx.Response:
        if route == "retrieve":
            return c.post(f"/pools/{A}/retrieve", json={"queries": [QUERY], "k": 2, "retriever": retriever})
        return c.post("/prompts", json={"pool": A, "query": QUERY, "k": 2, "retriever": retriever})

    for foreign in ("udr:tenBm", "udr:tenBm:v1", "udr:tenmix"):
        r = call(key_a, foreign)
        assert r.status_code == 404, (foreign, r.text)
        assert SECRET not in r.text and "tenAm" not in r.text and "known" not in r.text
    for own in ("udr:tenAm", "udr:tenAm:v1", "udr"):  # bare ``udr``: the newest model the key may see
        r = call(key_a, own)
        assert r.status_code == 200, (own, r.text)
    # a key without a pool limit still uses any model (the mixed one has an instruction for A)
    assert call(client, "udr:tenmix").status_code == 200


def test_a_limited_key_cannot_add_versions_to_a_foreign_model(world, key_a):
    body = {"pools": [A], "lm": "smollm2", "n_candidates": 1, "max_queries": 1}
    for name in ("tenBm", "tenmix"):  # versions it may not see: a new one would shadow them
        r = key_a.post("/udr/train", json={**body, "name": name})
        assert r.status_code == 409, r.text
        assert SECRET not in r.text and B not in r.text.replace("tenBm", "")


def test_not_found_errors_name_no_other_pool_or_model(world, client):
    for url in ("/pools/nope", "/pools/nope/examples", "/models/nope"):
        r = client.get(url)
        assert r.status_code == 404, (url, r.text)
        for name in (A, B, "tenAm", "tenBm", "tenmix", "known"):
            assert name not in r.text, (url, r.text)
    r = client.post("/udr/mine", json={"pools": ["nope"], "lm": "smollm2"})
    assert r.status_code == 404 and A not in r.text and B not in r.text


def test_cli_prints_the_known_names_as_a_hint(world, server):
    from fewshot.exceptions import NotFoundError

    with pytest.raises(NotFoundError) as missing:
        server.ws.get_pool("nope")
    assert str(missing.value) == "pool 'nope' does not exist" and A in (missing.value.hint or "")

    from fewshot.cli._errors import report_error
    from fewshot.cli._output import err_console

    with err_console.capture() as captured:
        assert report_error(missing.value) == 3
    assert "pool 'nope' does not exist" in captured.get() and f"known pools: {A}" in captured.get()


def _logged(ws, prompt_id: str) -> bool:
    from fewshot.exceptions import NotFoundError

    try:
        ws.prompt_log(prompt_id)
    except NotFoundError:
        return False
    return True


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline
        time.sleep(0.05)
