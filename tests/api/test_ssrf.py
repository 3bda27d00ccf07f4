"""Issue 12, item 1: what reaches outside the process is named from server-side allow-lists.

A request names an LM backend, a tokenizer or an embedding model the operator configured; a URL,
a backend spec or a file path is a 422 naming the field, and nothing is contacted or opened.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from fewshot.api import create_app
from fewshot.config import Settings

POOL = "ssrf_pool"


class Listener:
    """A TCP listener on a free loopback port that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def pool(ws) -> str:
    records = [{"id": f"s{i}", "text": f"text number {i}", "label": "a" if i % 2 else "b"} for i in range(8)]
    ws.add_records(POOL, records, label_field="label", create=True)
    return POOL


def _assert_refused(resp: httpx.Response, field: str) -> None:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert [field] == [e["loc"][-1] for e in body["errors"]], body
    assert "127.0.0.1" not in resp.text and "passwd" not in resp.text


def test_ssrf_reproducer_is_refused_and_the_listener_receives_nothing(client, pool, listener):
    lm = f"openai:http://127.0.0.1:{listener.port}/internal/admin?x=#gpt"
    _assert_refused(client.post("/udr/mine", json={"pools": [pool], "lm": lm}), "lm")
    _assert_refused(client.post("/udr/train", json={"name": "ssrf", "pools": [pool], "lm": lm}), "lm")
    _assert_refused(
        client.post(f"/pools/{pool}/skills/predict", json={"queries": ["x"], "method": "lm", "lm": lm}), "lm"
    )
    time.sleep(0.5)  # a queued job would have connected by now
    assert listener.accepted == 0
    assert client.get("/jobs").status_code != 500


@pytest.mark.parametrize(
    "lm",
    [
        "hf:/etc",
        "gguf:../../../../etc/passwd",
        "llamacpp:/tmp/x.gguf",
        "openai:https://example.com/v1#gpt",
        "http://127.0.0.1:1/v1",
        "../../etc/passwd",
    ],
)
def test_lm_specs_urls_and_paths_are_refused(client, pool, lm):
    _assert_refused(client.post("/udr/mine", json={"pools": [pool], "lm": lm}), "lm")


@pytest.mark.parametrize(
    "tokenizer",
    [
        "hf:../../../../etc/passwd",
        "tiktoken:cl100k_base",
        "/etc/passwd",
        "gpt2",
        "approx:abc",
        "approx:nan",
        "approx:inf",
        "approx:5e-324",
        "approx:-1",
        "approx:1e400",
    ],
)
def test_tokenizer_specs_and_bad_approx_numbers_are_refused(client, pool, tokenizer):
    resp = client.post("/prompts", json={"pool": pool, "query": "q", "tokenizer": tokenizer})
    _assert_refused(resp, "tokenizer")


@pytest.mark.parametrize("model", ["/etc", "../../../../etc", "hf:x", "sentence-transformers/all-mpnet-base-v2"])
def test_embedding_model_paths_are_refused(client, model):
    resp = client.post("/pools", json={"name": "ssrf_emb", "embedding_model": model})
    _assert_refused(resp, "embedding_model")
    assert client.get("/pools/ssrf_emb").status_code == 404


def test_bundled_embedding_model_is_allowed(client):
    resp = client.post("/pools", json={"name": "ssrf_emb_ok", "embedding_model": "all-MiniLM-L6-v2"})
    assert resp.status_code == 201, resp.text


def test_udr_base_model_paths_are_refused(client, pool):
    resp = client.post("/udr/train", json={"name": "ssrf2", "pools": [pool], "base_model": "/etc"})
    _assert_refused(resp, "base_model")


def test_configured_names_resolve_to_the_operators_spec(ws, live_server, api_key, pool, listener):
    """A configured name works (the job reaches the operator's host); its spec is not the caller's."""
    ws.settings.lm_backends = {"prod": f"openai:http://127.0.0.1:{listener.port}/v1#gpt"}
    try:
        with live_server(create_app(workspace=ws)) as live:
            headers = {"Authorization": f"Bearer {api_key}"}
            with httpx.Client(base_url=live.url + "/v1", headers=headers, timeout=60) as c:
                resp = c.post(f"/pools/{pool}/skills/predict", json={"queries": ["x"], "method": "lm", "lm": "nope"})
                _assert_refused(resp, "lm")
                assert "prod" in resp.json()["errors"][0]["msg"]
                job = c.post("/udr/mine", json={"pools": [pool], "lm": "prod", "n_candidates": 2, "max_queries": 1})
                assert job.status_code == 202, job.text
                job = c.get(f"/jobs/{job.json()['id']}").json()
                assert job["params"]["lm"] == "prod" and "127.0.0.1" not in json.dumps(job["params"])
    finally:
        ws.settings.lm_backends = {}


# -- the resolution rules themselves ----------------------------------------------------------


def test_resolution_rules():
    from fewshot.api._allowlist import resolve_embedding_model, resolve_lm, resolve_tokenizer

    s = Settings(
        lm_backends={"prod": "openai:https://lm.internal/v1#m"},
        tokenizers={"llama": "hf:/models/llama"},
        embedding_models={"e5": "/models/e5"},
    )
    assert resolve_lm(s, "prod") == "prod"  # the name travels; the service opens the operator's spec
    from fewshot.service.context import ServiceContext

    assert ServiceContext.lm_spec(type("C", (), {"settings": s})(), "prod") == "openai:https://lm.internal/v1#m"
    assert resolve_lm(s, "smollm2") == "smollm2" and resolve_lm(s, "gemma3-270m") == "gemma3-270m"
    assert resolve_lm(s, None) is None
    assert resolve_tokenizer(s, "llama") == "hf:/models/llama"
    assert resolve_tokenizer(s, "approx") == "approx" and resolve_tokenizer(s, "approx:3.5") == "approx:3.5"
    assert resolve_embedding_model(s, "e5") == "/models/e5"
    assert resolve_embedding_model(s, "all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert resolve_embedding_model(s, None) is None


def test_allow_lists_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEWSHOT_LM_BACKENDS", '{"prod": "openai:https://lm.internal/v1#m"}')
    monkeypatch.setenv("FEWSHOT_TOKENIZERS", '{"llama": "hf:/models/llama"}')
    monkeypatch.setenv("FEWSHOT_EMBEDDING_MODELS", '{"e5": "/models/e5"}')
    s = Settings()
    assert s.lm_backends == {"prod": "openai:https://lm.internal/v1#m"}
    assert s.tokenizers == {"llama": "hf:/models/llama"}
    assert s.embedding_models == {"e5": "/models/e5"}


def test_serve_passes_allow_lists_to_the_workers(monkeypatch, tmp_path):
    """``fewshot serve --lm NAME=SPEC ...`` puts the entries where the workers read settings."""
    import uvicorn
    from typer.testing import CliRunner

    from fewshot.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    for var in ("FEWSHOT_LM_BACKENDS", "FEWSHOT_TOKENIZERS", "FEWSHOT_EMBEDDING_MODELS", "FEWSHOT_DATABASE_URL"):
        monkeypatch.setenv(var, "{}")  # restored after the test (serve writes them)
    monkeypatch.delenv("FEWSHOT_DATABASE_URL")
    monkeypatch.setenv("FEWSHOT_HOME", str(tmp_path))
    args = [
        "serve",
        "--lm",
        "prod=openai:https://lm.internal/v1#m",
        "--lm",
        "dev=smollm2",
        "--tokenizer",
        "llama=hf:/models/llama",
        "--embedding-model",
        "e5=/models/e5",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls
    s = Settings()
    assert s.lm_backends == {"prod": "openai:https://lm.internal/v1#m", "dev": "smollm2"}
    assert s.tokenizers == {"llama": "hf:/models/llama"}
    assert s.embedding_models == {"e5": "/models/e5"}
    bad = CliRunner().invoke(app, ["serve", "--lm", "no-equals-sign"])
    assert bad.exit_code == 5 and "NAME=SPEC" in bad.output


# -- item 2 over the API: templates are the safe language on every surface -------------------


@pytest.mark.parametrize("template", ["{text:>20000000}", "{text.__class__.__mro__}", "{text!r}", "{text:>201}"])
def test_amp_reproducer_and_attribute_access_are_refused_on_pools(client, template):
    resp = client.post("/pools", json={"name": "AMP", "template": template})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == ["body", "template"]
    assert client.get("/pools/AMP").status_code == 404


@pytest.mark.parametrize("template", ["{text:>20000000}", "{text.__class__.__mro__}"])
def test_unsafe_templates_are_refused_on_examples(client, template):
    records = [{"id": f"amp{i}", "text": "tiny"} for i in range(3)]
    resp = client.post("/pools/AMP2/examples", json={"records": records, "mapping": {"template": template}})
    assert resp.status_code == 422, resp.text
    files = {"file": ("amp.jsonl", b'{"id": "a", "text": "tiny"}\n', "application/octet-stream")}
    resp = client.post("/pools/AMP3/examples/file", files=files, data={"template": template})
    assert resp.status_code == 422, resp.text
    assert [e["loc"][-1] for e in resp.json()["errors"]] == ["template"]
    for name in ("AMP2", "AMP3"):
        assert client.get(f"/pools/{name}").status_code == 404


def test_safe_template_with_a_bounded_spec_is_accepted(client):
    resp = client.post("/pools", json={"name": "AMP_ok", "template": "[{text:>10}] {hint:.5}"})
    assert resp.status_code == 201, resp.text
    resp = client.post("/pools/AMP_ok/examples", json={"records": [{"id": "a", "text": "hi", "hint": "abcdefgh"}]})
    assert resp.status_code == 200, resp.text
    [row] = client.get("/pools/AMP_ok/examples", params={"limit": 1}).json()["data"]
    assert row["text"] == "[        hi] abcde"
