"""The LangChain example-selector adapter on a real pool (LangChain itself is optional)."""

from __future__ import annotations

import json

import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.integrations.langchain import FewshotExampleSelector


def test_select_and_add_examples(tmp_path, data_slice, embedder):
    from fewshot import Workspace

    ws = Workspace.open(tmp_path / "home")
    ws.use_embedder(embedder)
    path = data_slice("sst5", "train", 60)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    ws.ingest("sst5", path, label_field="label_text")
    ws.build_index("sst5")
    sel = FewshotExampleSelector(ws, "sst5", k=3, input_key="review", output_key="sentiment")
    got = sel.select_examples({"review": rows[5]["text"]})
    assert len(got) == 3 and got[0]["review"] == rows[5]["text"] and got[0]["sentiment"] == rows[5]["label_text"]
    new_id = sel.add_example({"review": "a luminous, heartbreaking triumph of a film", "sentiment": "great"})
    top = sel.select_examples({"review": "a luminous, heartbreaking triumph of a film"})[0]
    assert top["sentiment"] == "great" and top["review"].startswith("a luminous")
    assert (
        ws.get_pool("sst5").counts["labeled"] == 61 and ws.list_examples("sst5", limit=None)[-1].external_id == new_id
    )
    with pytest.raises(InvalidInputError, match="input variables lack 'review'"):
        sel.select_examples({"text": "x"})
    with pytest.raises(InvalidInputError, match="needs 'review' and 'sentiment'"):
        sel.add_example({"review": "x"})
    try:
        from langchain_core.example_selectors import BaseExampleSelector
    except ImportError:
        return
    assert isinstance(sel, BaseExampleSelector)
