"""Cost-aware budgets through the CLI: select under --budget-cost, the pool keeps its cost spec,
exports carry each item's cost, `fewshot budget --cost` compares count-based and cost-aware
selection on one spend axis, and bad costs fail naming the item."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import run
from shared_data import read_jsonl


@pytest.fixture(scope="module")
def embedded_home(tmp_path_factory, data_dir):
    """A home with pool ``sst5`` (120 SST-5 sentences, each with a ``minutes`` field), embedded
    once per module; each test gets a copy."""
    rows = read_jsonl(data_dir / "sst5" / "train.jsonl", 120)
    for i, r in enumerate(rows):
        r["minutes"] = 0.5 + (i % 4) * 0.25
    base = tmp_path_factory.mktemp("cost-home")
    src = base / "sst5-minutes.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run(base / "home", "ingest", "sst5", src)
    run(base / "home", "embed", "sst5")
    return base / "home", rows


@pytest.fixture
def home(embedded_home, tmp_path) -> Path:
    shutil.copytree(embedded_home[0], tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def rows(embedded_home) -> list[dict]:
    """The rows of pool ``sst5``."""
    return embedded_home[1]


def _words(text: str) -> float:
    return len(text.split()) * 0.5 / 60


def test_select_under_a_cost_budget_then_reuse_the_stored_spec(home, rows, tmp_path):
    out = run(
        home, "select", "sst5", "--budget-cost", "1.5", "--cost", "words:0.5/60", "--method", "facility", "--json"
    )
    rnd = json.loads(out.stdout)
    cost = sum(_words(i["text"]) for i in rnd["items"])
    assert rnd["params"]["cost"] == "words:0.5/60" and rnd["params"]["budget_cost"] == 1.5
    assert rnd["params"]["total_cost"] == pytest.approx(cost) and cost <= 1.5 + 1e-9
    assert rnd["budget"] == len(rnd["items"]) > 1.5 / max(_words(r["text"]) for r in rows)
    # the pool keeps the spec: round 2 needs no --cost and continues round 1
    text = run(home, "select", "sst5", "--budget-cost", "0.5", "--method", "random").output
    assert "total cost" in text and "of 0.5 (words:0.5/60)" in text
    second = json.loads(run(home, "rounds", "sst5", "--json").stdout)[1]
    assert second["params"]["cost"] == "words:0.5/60"
    assert not {i["external_id"] for i in second["items"]} & {i["external_id"] for i in rnd["items"]}

    # exports carry each item's cost (the round's spec)
    run(home, "export", "sst5", "--round", "1", "-o", tmp_path / "r1.csv")
    with open(tmp_path / "r1.csv", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [float(r["cost"]) for r in exported] == pytest.approx([_words(i["text"]) for i in rnd["items"]])
    run(home, "export", "sst5", "--round", "1", "--format", "labelstudio", "-o", tmp_path / "t.json")
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert [t["data"]["cost"] for t in tasks] == pytest.approx([_words(i["text"]) for i in rnd["items"]])
    run(home, "export", "sst5", "--round", "1", "--format", "argilla", "-o", tmp_path / "a.json")
    records = json.loads((tmp_path / "a.json").read_text())
    assert records[0]["metadata"]["cost"] == pytest.approx(_words(rnd["items"][0]["text"]))
    settings = json.loads((tmp_path / "a.settings.json").read_text())
    assert {"name": "cost", "title": "cost", "type": "float", "visible_for_annotators": True} in settings["metadata"]


def test_cost_field_and_a_constant(home, rows):
    rnd = json.loads(
        run(
            home, "select", "sst5", "--budget-cost", "3", "--cost-field", "minutes", "--method", "votek", "--json"
        ).stdout
    )
    minutes = {r["id"]: r["minutes"] for r in rows}
    assert rnd["params"]["cost"] == "field:minutes"
    assert rnd["params"]["total_cost"] == pytest.approx(sum(minutes[i["external_id"]] for i in rnd["items"]))
    # the cost-benefit rule prefers the half-minute items
    assert sum(minutes[i["external_id"]] for i in rnd["items"]) / rnd["budget"] < 0.875
    # a constant cost: budget-cost 5 at 0.5 per item is the count-based round of 10
    const = json.loads(run(home, "select", "sst5", "--budget-cost", "5", "--cost", "0.5", "--json").stdout)
    assert const["budget"] == 10 and const["params"]["total_cost"] == 5.0


def test_cost_errors(home, tmp_path):
    fresh = run(home, "select", "sst5", "--budget-cost", "5", ok=False)
    assert fresh.exit_code == 5 and "pool 'sst5' has no annotation cost" in fresh.output
    both = run(home, "select", "sst5", "--budget", "3", "--budget-cost", "5", "--cost", "1", ok=False)
    assert both.exit_code == 2
    r = run(home, "select", "sst5", "--budget-cost", "5", "--cost", "1", "--cost-field", "minutes", ok=False)
    assert r.exit_code == 2 and "not both" in r.output
    missing = run(home, "select", "sst5", "--budget-cost", "5", "--cost-field", "seconds", ok=False)
    assert missing.exit_code == 5 and "item 'sst5-train-0' has no cost field 'seconds'" in missing.output
    bad = run(home, "select", "sst5", "--budget-cost", "5", "--cost", "pages:2", ok=False)
    assert bad.exit_code == 5 and "unknown term 'pages:2'" in bad.output
    poor = run(home, "select", "sst5", "--budget-cost", "0.1", "--cost-field", "minutes", ok=False)
    assert poor.exit_code == 5 and "buys no item of pool 'sst5'" in poor.output and "costs 0.5" in poor.output
    unsupported = run(home, "select", "sst5", "--budget-cost", "2", "--cost", "1", "--method", "votek2", ok=False)
    assert unsupported.exit_code == 5 and "does not support a cost budget" in unsupported.output
    assert json.loads(run(home, "rounds", "sst5", "--json").stdout) == []  # nothing was stored


def test_budget_in_cost_units(home, tmp_path):
    out = run(
        home,
        "budget",
        "sst5",
        "--cost",
        "words:0.5/60",
        "--method",
        "facility",
        "--spends",
        "0.5,1,2",
        "--plot",
        tmp_path / "spend.png",
        "--json",
    )
    doc = json.loads(out.stdout)
    assert doc["cost"] == "words:0.5/60" and doc["method"] == "facility"
    assert [r["spend"] for r in doc["rows"]] == [0.5, 1.0, 2.0]
    assert doc["recommended"] in (0.5, 1.0, 2.0) and sum(r["recommended"] for r in doc["rows"]) == 1
    assert [s["items"] for s in doc["steps"]] == [
        doc["rows"][i + 1]["cost_items"] - doc["rows"][i]["cost_items"] for i in range(2)
    ]
    assert (tmp_path / "spend.png").read_bytes()[:4] == b"\x89PNG"
    # no --cost: the pool's stored spec; default spends are 10%, 20%, ..., 100% of --max-spend
    doc = json.loads(
        run(
            home, "budget", "sst5", "--method", "random", "--plot", tmp_path / "s2.png", "--max-spend", "2", "--json"
        ).stdout
    )
    assert doc["cost"] == "words:0.5/60"
    assert [r["spend"] for r in doc["rows"]] == pytest.approx([0.2 * (i + 1) for i in range(10)])
    table = run(home, "budget", "sst5", "--cost", "0.5", "--method", "random", "--plot", tmp_path / "s3.png").output
    assert "recommended spend" in table and "what each extra step of spend buys" in table
