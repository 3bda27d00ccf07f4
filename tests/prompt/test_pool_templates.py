"""Templates as data: a pool carries its prompt template; the default derives from its fields and labels.

RTE, TREC and MRPC pools (tests/data slices) each get their own format once, on the pool, and
every prompt over them uses it; per-request overrides win; templates naming a field the items lack,
or anything but plain field names, are refused.
"""

from __future__ import annotations

import json

import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.prompt import (
    TEMPLATES,
    PromptTemplate,
    default_template,
    parse_template,
    template_from_dict,
    template_to_dict,
)

RTE = {
    "instruction": "Does the premise entail the hypothesis?",
    "input": "Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:",
    "output": " {label}",
}
TREC = {
    "instruction": "What kind of answer does each question expect?",
    "input": "Question: {text}\nAnswer type:",
    "output": " {label}",
    "verbalizer": {
        "0": "description",
        "1": "entity",
        "2": "abbreviation",
        "3": "human",
        "4": "number",
        "5": "location",
    },
}
MRPC = {
    "input": "Sentence 1: {sentence1}\nSentence 2: {sentence2}\nSame meaning?",
    "output": " {label_text}",
    "separator": "\n---\n",
}


# ---------------------------------------------------------------------------------------- pure
def test_default_template_is_generic_and_names_the_labels():
    tpl = default_template(["text", "premise"], ["great", "bad", "great"])
    assert tpl.input == "Input: {text}\nLabel:" and tpl.output == " {label}"
    assert tpl.instruction == "Label each input as one of: bad, great."
    assert "sentiment" not in (tpl.instruction + tpl.input).lower()
    assert default_template().instruction == ""
    assert tpl.render_demo({"text": "x", "label": "bad"}) == "Input: x\nLabel: bad"


def test_template_round_trips_as_data_and_rejects_unknown_keys():
    tpl = template_from_dict(TREC, name="trec")
    assert tpl.render_demo({"text": "Who?", "label": "3"}) == "Question: Who?\nAnswer type: human"
    stored = template_to_dict(tpl)
    assert json.loads(json.dumps(stored)) == stored and template_from_dict(stored).render_output({"label": "5"}) == (
        " location"
    )
    with pytest.raises(InvalidInputError, match="'colour'"):
        template_from_dict({"input": "{text}", "colour": "red"})
    with pytest.raises(InvalidInputError, match="'input' is required"):
        template_from_dict({"output": " {label}"})
    with pytest.raises(InvalidInputError, match="cannot be stored as data"):
        template_to_dict(TEMPLATES.get("multiple_choice"))


@pytest.mark.parametrize("bad", ["{premise.__class__}", "{premise[0]}", "{premise!r}", "{}", "{0}", "{x:{w}}"])
def test_templates_are_plain_fields_only(bad):
    with pytest.raises(InvalidInputError):
        template_from_dict({"input": bad})


def test_parse_template_names_objects_and_files(tmp_path):
    assert parse_template("math") is TEMPLATES.get("math")
    assert parse_template(json.dumps(RTE)).input == RTE["input"]
    f = tmp_path / "rte.yaml"
    f.write_text('instruction: Entailment?\ninput: "P: {premise}\\nH: {hypothesis}\\nA:"\n', encoding="utf-8")
    assert parse_template(str(f), allow_files=True).input == "P: {premise}\nH: {hypothesis}\nA:"
    (tmp_path / "t.json").write_text(json.dumps(MRPC), encoding="utf-8")
    assert parse_template(str(tmp_path / "t.json"), allow_files=True).separator == "\n---\n"
    with pytest.raises(InvalidInputError, match="unknown template"):  # never a file unless allowed (servers)
        parse_template(str(f))
    with pytest.raises(InvalidInputError, match="unknown template"):
        parse_template("{text} => {label}")


# ---------------------------------------------------------------------------------------- pools
def _pool(ws, data_slice, dataset, n, **options):
    ws.ingest(dataset, data_slice(dataset, "train", n), **options)
    ws.build_index(dataset)
    return [json.loads(line) for line in data_slice(dataset, "train", n).read_text().splitlines()]


def test_pool_without_template_uses_the_derived_default(ws, data_slice):
    rows = _pool(ws, data_slice, "sst5", 30, label_field="label_text")
    info = ws.pools.template_info("sst5")
    assert info["source"] == "default" and info["input"] == "Input: {text}\nLabel:"
    prompt, prompt_id = ws.build_prompt("sst5", "a gorgeous, witty film", k=3)
    assert prompt.text.endswith("Input: a gorgeous, witty film\nLabel:")
    assert "sentiment" not in prompt.text.lower().split("input:")[0]
    assert prompt.text.startswith("Label each input as one of: ")
    labels = {r["label_text"] for r in rows}
    shown = [line[len("Label: ") :] for line in prompt.text.splitlines() if line.startswith("Label: ")]
    assert len(shown) == 3 and set(shown) <= labels
    assert ws.prompt_log(prompt_id)["template"] == "default"
    # the derived default follows the labels
    assert "odd-one" not in ws.pool_template("sst5").instruction
    ws.add_records("sst5", [{"id": "odd", "text": "a film unlike any other", "label": "odd-one"}], label_field="label")
    assert "odd-one" in ws.pool_template("sst5").instruction
    # a preset stays available by name
    assert ws.build_prompt("sst5", "a dull film", k=2, template="classification")[0].text.endswith(
        "Review: a dull film\nSentiment:"
    )


def test_rte_format_set_once_at_ingest(ws, data_slice):
    rows = _pool(
        ws,
        data_slice,
        "rte",
        40,
        template="{premise}\nquestion: {hypothesis}",
        label_field="label_text",
        prompt_template=RTE,
    )
    assert ws.pools.template_info("rte")["source"] == "pool"
    query = {"premise": rows[0]["premise"], "hypothesis": rows[0]["hypothesis"]}
    prompt, prompt_id = ws.build_prompt("rte", query, k=3)
    assert prompt.text.startswith(RTE["instruction"] + "\n\n")
    assert prompt.text.endswith(f"Premise: {rows[0]['premise']}\nHypothesis: {rows[0]['hypothesis']}\nAnswer:")
    answers = [line for line in prompt.text.splitlines() if line.startswith("Answer:")]
    assert len(answers) == 4 and set(answers[:3]) <= {"Answer: entailment", "Answer: not_entailment"}
    assert prompt.demos[-1].id == rows[0]["id"]  # retrieval searched with the pool's text rendering
    assert ws.prompt_log(prompt_id)["template"] == "rte"
    # a library override: a PromptTemplate object, for this request only
    own = PromptTemplate(name="mine", input="{hypothesis}?", output=" {label}")
    assert ws.build_prompt("rte", query, k=1, template=own)[0].text.endswith(f"{rows[0]['hypothesis']}?")
    assert ws.pools.template_info("rte")["input"] == RTE["input"]


def test_trec_verbalizer_and_mrpc_separator(ws, data_slice):
    _pool(ws, data_slice, "trec", 40, label_field="label")
    ws.set_pool_template("trec", TREC)
    prompt, _ = ws.build_prompt("trec", "Who wrote Hamlet ?", k=4)
    assert prompt.text.endswith("Question: Who wrote Hamlet ?\nAnswer type:")
    words = set(TREC["verbalizer"].values())
    demo_answers = [line.split(": ", 1)[1] for line in prompt.text.splitlines() if line.startswith("Answer type: ")]
    assert len(demo_answers) == 4 and set(demo_answers) <= words

    rows = _pool(ws, data_slice, "mrpc", 30, template="{sentence1}\n{sentence2}", label_field="label_text")
    ws.set_pool_template("mrpc", MRPC)
    prompt, _ = ws.build_prompt("mrpc", {"sentence1": rows[1]["sentence1"], "sentence2": rows[1]["sentence2"]}, k=2)
    assert prompt.text.count("\n---\n") == 2 and prompt.text.endswith("Same meaning?")


def test_template_naming_a_missing_field_is_rejected_by_name(ws, data_slice):
    _pool(ws, data_slice, "trec", 20, label_field="label")
    with pytest.raises(InvalidInputError, match="'premise'"):
        ws.set_pool_template("trec", RTE)
    with pytest.raises(InvalidInputError, match="'hypothesis'"):
        ws.build_prompt("trec", "Who?", k=2, template={"input": "{text} {hypothesis}"})
    assert ws.pools.template_info("trec")["source"] == "default"
    ws.set_pool_template("trec", TREC)
    assert ws.set_pool_template("trec", None)["source"] == "default"  # removed: back to the default
    with pytest.raises(InvalidInputError, match="unknown template"):
        ws.build_prompt("trec", "Who?", k=2, template="/etc/passwd")


def test_prompt_template_at_pool_creation(ws):
    info = ws.create_pool("made", prompt_template={"input": "Q: {question}\nA:", "output": " {answer}"})
    assert info.name == "made" and ws.pools.template_info("made")["input"] == "Q: {question}\nA:"
    with pytest.raises(InvalidInputError):
        ws.create_pool("bad", prompt_template={"input": "{x.y}"})
