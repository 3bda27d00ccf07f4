"""Skills and adaptive prompts (AdaptMI / AdaptMI+) over HTTP, on a real GSM8K slice."""

from __future__ import annotations

import json


def _gsm_pool(client, data_slice, pool, n=80):
    """A new indexed GSM8K pool ``pool`` (each test names its own: the module shares one workspace)."""
    rows = [json.loads(line) for line in data_slice("gsm8k", "train", n).read_text().splitlines()]
    assert client.post("/pools", json={"name": pool, "text_field": "question"}).status_code == 201
    mapping = {"id_field": "id", "text_field": "question", "label_field": "final_answer", "skills_field": "skills"}
    r = client.post(f"/pools/{pool}/examples", json={"records": rows, "mapping": mapping})
    assert r.status_code == 200, r.text
    assert client.post(f"/pools/{pool}/index").status_code == 200
    return rows


def test_prompts_with_feedback_take_each_branch(client, data_slice):
    rows = _gsm_pool(client, data_slice, "gsm")
    skills_of = {r["id"]: r["skills"] for r in rows}
    query = "A shop sells pens at $3 each and gives 20% off orders above $30. How much do 15 pens cost?"
    base = {"pool": "gsm", "query": query, "k": 4, "template": "math", "output_field": "answer", "max_tokens": 4096}

    plain = client.post("/prompts", json=base).json()
    assert plain["branch"] is None and len(plain["demos"]) == 4 and "#### " in plain["text"]

    easy = client.post("/prompts", json={**base, "feedback": {"step_scores": [0.95, 0.92, 0.9]}}).json()
    assert easy["branch"] == "easy" and "easy: final step score 0.9 > 0.85" in easy["reason"]
    assert [d["id"] for d in easy["demos"]] == [d["id"] for d in plain["demos"]]

    hard = client.post(
        "/prompts", json={**base, "feedback": {"first_answer": "#### 45", "step_scores": [0.9, 0.8, 0.3]}}
    )
    assert hard.status_code == 200, hard.text
    hard = hard.json()
    predicted = client.post("/pools/gsm/skills/predict", json={"queries": [query]}).json()["skills"][0]
    assert hard["branch"] == "difficult" and hard["skills"] == predicted and hard["skill_source"] == "predicted:knn"
    assert "final step score 0.3 <= 0.85" in hard["reason"] and hard["judgement"]["judge"] == "scores"
    assert all(predicted[0] in skills_of[d["id"]] for d in hard["demos"])
    log = client.get(f"/prompts/{hard['id']}").json()
    assert log["params"]["adaptive"]["branch"] == "difficult"

    conf = client.post("/prompts", json={**base, "feedback": {"first_answer": "#### 45", "confidence": -2.5}}).json()
    assert conf["branch"] == "difficult" and conf["judgement"]["judge"] == "confidence"
    sc = client.post(
        "/prompts", json={**base, "feedback": {"first_answer": "#### 45", "samples": ["#### 45", "#### 45", "#### 40"]}}
    ).json()
    assert sc["branch"] == "easy" and sc["judgement"]["judge"] == "consistency"

    plus = client.post(
        "/prompts", json={**base, "feedback": {"difficult": True, "missing_skills": ["percentage", "fractions"]}}
    ).json()
    assert plus["branch"] == "adaptmi_plus" and plus["skills"] == ["percentage", "fractions"]
    got = [skills_of[d["id"]] for d in plus["demos"]]
    assert any("percentage" in s for s in got) and any("fractions" in s for s in got)

    bad = client.post("/prompts", json={**base, "feedback": {"missing_skills": ["cooking"]}})
    assert bad.status_code == 422 and "unknown skill 'cooking'" in bad.json()["detail"]
    assert client.post("/prompts", json={**base, "feedback": {"scores": [1]}}).status_code == 422
    empty = client.post("/prompts", json={**base, "feedback": {"first_answer": "#### 1"}})
    assert empty.status_code == 422 and "nothing to judge" in empty.json()["detail"]


def test_skill_routes(client, data_slice):
    rows = _gsm_pool(client, data_slice, "gsm-skills", n=40)
    vocab = client.get("/pools/gsm-skills/skills").json()
    assert not vocab["stored"] and vocab["counts"]["multiplication"] == sum(
        "multiplication" in r["skills"] for r in rows
    )
    r = client.put("/pools/gsm-skills/skills", json={"skills": ["multiplication"]})
    assert r.status_code == 422 and "outside the new vocabulary" in r.json()["detail"]
    assert client.put("/pools/gsm-skills/skills", json={"skills": vocab["skills"]}).json()["stored"]

    ids = [rows[0]["id"], rows[1]["id"]]
    r = client.post("/pools/gsm-skills/skills/edit", json={"ids": ids, "set": ["algebra"]})
    assert r.status_code == 200 and r.json()["changed"] == 2, r.text
    listed = {
        e["external_id"]: e["skills"]
        for e in client.get("/pools/gsm-skills/examples", params={"limit": 5}).json()["data"]
    }
    assert listed[ids[0]] == ["algebra"] and listed[ids[1]] == ["algebra"]
    r = client.post(
        "/pools/gsm-skills/skills/edit",
        json={
            "edits": [
                {"id": ids[0], "skills": ["percentage"], "mode": "add"},
                {"id": "ghost", "skills": ["percentage"]},
            ]
        },
    )
    assert r.status_code == 422 and "line 2, id 'ghost'" in r.json()["detail"]
    r = client.post("/pools/gsm-skills/skills/edit", json={"ids": ids, "add": ["geometry"]})
    assert r.status_code == 422 and "unknown skill 'geometry'" in r.json()["detail"]
    listed = {
        e["external_id"]: e["skills"]
        for e in client.get("/pools/gsm-skills/examples", params={"limit": 5}).json()["data"]
    }
    assert listed[ids[0]] == ["algebra"]  # the failed edits changed nothing

    assert client.get("/pools/gsm-skills/difficulty").json()["final"] == 0.85
    t = client.put("/pools/gsm-skills/difficulty", json={"final": 0.5, "confidence": -1.5}).json()
    assert t["final"] == 0.5 and t["confidence"] == -1.5 and t["mean"] == 0.85
    assert client.put("/pools/gsm-skills/difficulty", json={"finale": 1}).status_code == 422
    assert client.put("/pools/gsm-skills/difficulty", json={"reset": True}).json()["final"] == 0.85
    p = client.post(
        "/pools/gsm-skills/skills/predict", json={"queries": ["What is 15% of 80?"], "method": "logreg", "top": 2}
    ).json()
    assert len(p["skills"][0]) == 2 and set(p["skills"][0]) <= set(vocab["skills"])
