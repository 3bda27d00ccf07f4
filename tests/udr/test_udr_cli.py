"""`fewshot udr ...` end to end: real SST-5/TREC slices, a tiny real GPT-2 as the feedback LM, the
bundled MiniLM as the base encoder; then retrieval with ``--retriever udr:<model>``."""

from __future__ import annotations

import json

import numpy as np
from cli_helpers import run


def test_udr_mine_train_models_retrieve(tmp_path, data_slice, tiny_lm_dir):
    home, lm = tmp_path / "home", f"hf:{tiny_lm_dir}"
    run(home, "ingest", "sst5", data_slice("sst5", "train", 30), "--label-field", "label_text")
    run(home, "ingest", "trec", data_slice("trec", "train", 30), "--label-field", "label_text")

    mined = json.loads(
        run(home, "udr", "mine", "sst5", "--lm", lm, "--candidates", "4", "--max-queries", "6", "--json")
        .output.strip()
        .splitlines()[-1]
    )
    assert mined["pairs"] == 24 and mined["scored"] == 24 and mined["lm_calls"] >= 1 and mined["tokens"] > 0
    again = json.loads(
        run(home, "udr", "mine", "sst5", "--lm", lm, "--candidates", "4", "--max-queries", "6", "--json")
        .output.strip()
        .splitlines()[-1]
    )
    assert again["scored"] == 0 and again["cached"] == 24  # resumable: nothing new to score

    out = (
        run(
            home,
            "udr",
            "train",
            "mix",
            "sst5,trec",
            "--lm",
            lm,
            "--candidates",
            "4",
            "--max-queries",
            "6",
            "--epochs",
            "1",
            "--batch-size",
            "3",
            "--rounds",
            "2",
            "--instruction",
            "trec=Question type: ",
            "--json",
        )
        .output.strip()
        .splitlines()[-1]
    )
    info = json.loads(out)
    assert info["spec"] == "udr:mix:v1" and info["params"]["pools"] == ["sst5", "trec"]
    assert info["params"]["instructions"] == {"sst5": "sst5: ", "trec": "Question type: "}
    mining = info["metrics"]["mining"]
    assert len(mining) == 2 and mining[0]["cached"] >= 24  # round 1 reused the sst5 scores of `udr mine`
    assert mining[1]["cached"] >= mining[0]["pairs"]  # round 2 scored only new pairs
    models = [json.loads(x) for x in run(home, "udr", "models", "--json").output.strip().splitlines()]
    assert [m["spec"] for m in models] == ["udr:mix:v1"]

    run(home, "index", "sst5")
    query = "a gorgeous , witty , seductive movie ."
    out = run(home, "retrieve", "sst5", query, "-k", "3", "--retriever", "udr:mix", "--json").output
    res = json.loads(out[out.index('{"query"') :].strip())  # CliRunner mixes in stderr's model-loading bar
    # the scores are dot products of the trained encoder's vectors, instruction prefixed, best first
    from fewshot.udr import load_udr_model

    model = load_udr_model(info["path"], device="cpu")
    texts = [json.loads(line)["text"] for line in data_slice("sst5", "train", 30).read_text().splitlines()]
    scores = model.encode(texts, "sst5") @ model.encode([query], "sst5")[0]
    np.testing.assert_allclose([d["score"] for d in res["demos"]], np.sort(scores)[::-1][:3], rtol=1e-4)
    assert "udr:mix:v1" in run(home, "udr", "index", "sst5", "--model", "udr:mix:v1").output

    bad = run(home, "retrieve", "sst5", query, "--retriever", "udr:nope", ok=False)
    assert bad.exit_code == 3 and "no UDR model 'nope'" in bad.output and "mix" in bad.output
    bad = run(home, "udr", "train", "bad name", "sst5", "--lm", lm, ok=False)
    assert bad.exit_code == 5 and "model name must be" in bad.output
