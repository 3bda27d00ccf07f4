"""Pool prompt templates from the CLI: ``--prompt-template`` at ``pools create`` / ``ingest``,
``pools set-template`` / ``pools template``, and ``prompt --template NAME|FILE|JSON``; RTE, TREC
and MRPC prompts in each task's own format, set once on the pool."""

from __future__ import annotations

import json

from cli_helpers import run

RTE = {
    "instruction": "Does the premise entail the hypothesis?",
    "input": "Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:",
    "output": " {label}",
}


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rte_template_from_a_file_at_ingest(tmp_path, data_slice):
    home, src = tmp_path / "home", data_slice("rte", "train", 30)
    tpl = tmp_path / "rte.json"
    tpl.write_text(json.dumps(RTE), encoding="utf-8")
    ingest = ["ingest", "rte", src, "--template", r"{premise}\nquestion: {hypothesis}", "--label-field", "label_text"]
    run(home, *ingest, "--prompt-template", tpl)
    run(home, "index", "rte")
    shown = json.loads(run(home, "pools", "template", "rte", "--json").stdout)
    assert shown["source"] == "pool" and shown["input"] == RTE["input"]

    row = _rows(src)[0]
    query = json.dumps({"premise": row["premise"], "hypothesis": row["hypothesis"]})
    out = run(home, "prompt", "rte", query, "-k", "2").stdout
    assert out.startswith(RTE["instruction"]) and "Classify the sentiment" not in out
    assert out.rstrip("\n").endswith(f"Premise: {row['premise']}\nHypothesis: {row['hypothesis']}\nAnswer:")
    data = json.loads(run(home, "prompt", "rte", query, "-k", "2", "--json").stdout)
    assert data["template_name"] == "rte" and len(data["demos"]) == 2
    # a preset by name still works, for this prompt only
    text_query = f"{row['premise']}\nquestion: {row['hypothesis']}"
    out = run(home, "prompt", "rte", text_query, "-k", "1", "--template", "classification").stdout
    assert out.rstrip("\n").endswith("Sentiment:")


def test_trec_set_template_with_options_and_mrpc_at_create(tmp_path, data_slice):
    home = tmp_path / "home"
    run(home, "ingest", "trec", data_slice("trec", "train", 30), "--label-field", "label")
    run(home, "index", "trec")
    default = run(home, "prompt", "trec", "Who wrote Hamlet ?", "-k", "2").stdout
    assert default.rstrip("\n").endswith("Input: Who wrote Hamlet ?\nLabel:")  # derived, not a sentiment prompt
    verbal = [
        f"{i}={w}" for i, w in enumerate(["description", "entity", "abbreviation", "human", "number", "location"])
    ]
    args = ["pools", "set-template", "trec", "--input", r"Question: {text}\nType:", "--separator", r"\n"]
    result = run(home, *args, *[x for v in verbal for x in ("--verbalizer", v)], "--json")
    assert json.loads(result.stdout)["verbalizer"]["3"] == "human"
    out = run(home, "prompt", "trec", "Who wrote Hamlet ?", "-k", "3").stdout
    lines = out.rstrip("\n").splitlines()
    assert lines[-2:] == ["Question: Who wrote Hamlet ?", "Type:"]
    assert all(
        line.split(": ", 1)[1] in {v.split("=")[1] for v in verbal} for line in lines[:-2] if line.startswith("Type:")
    )
    assert json.loads(run(home, "pools", "set-template", "trec", "--reset", "--json").stdout)["source"] == "default"

    mrpc = {"input": "S1: {sentence1}\nS2: {sentence2}\nSame?", "output": " {label_text}"}
    run(
        home,
        "pools",
        "create",
        "mrpc",
        "--template",
        r"{sentence1}\n{sentence2}",
        "--prompt-template",
        json.dumps(mrpc),
    )
    src = data_slice("mrpc", "train", 20)
    run(home, "ingest", "mrpc", src, "--label-field", "label_text")
    run(home, "index", "mrpc")
    row = _rows(src)[2]
    out = run(home, "prompt", "mrpc", json.dumps({"sentence1": row["sentence1"], "sentence2": row["sentence2"]})).stdout
    assert out.rstrip("\n").endswith("Same?") and "S1: " in out


def test_bad_templates_exit_5_naming_the_field(tmp_path, data_slice):
    home = tmp_path / "home"
    run(home, "ingest", "trec", data_slice("trec", "train", 10), "--label-field", "label")
    r = run(home, "pools", "set-template", "trec", "--input", "{premise} {hypothesis}", ok=False)
    assert r.exit_code == 5 and "'premise'" in r.output
    r = run(home, "pools", "set-template", "trec", "--input", "{text.__class__}", ok=False)
    assert r.exit_code == 5
    r = run(home, "pools", "set-template", "trec", ok=False)
    assert r.exit_code == 2
    run(home, "index", "trec")
    r = run(home, "prompt", "trec", "x", "--template", "{text} => {label}", ok=False)
    assert r.exit_code == 5 and "unknown template" in r.output
    r = run(home, "prompt", "trec", "x", "--template", json.dumps({"input": "{text} {nope}"}), ok=False)
    assert r.exit_code == 5 and "'nope'" in r.output
