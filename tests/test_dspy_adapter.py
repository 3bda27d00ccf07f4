"""The DSPy retriever adapter on a real pool.

With ``dspy`` installed (the ``dspy`` extra) it returns real ``dspy.Example`` objects and drives
``KNNFewShot``; without it, a stand-in module with the documented ``Example`` API checks the
adapter's own behaviour, and the missing dependency is reported by name.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from fewshot.exceptions import InvalidInputError, MissingDependencyError
from fewshot.integrations.dspy import FewshotDSPyRetriever

try:
    import dspy

    HAS_DSPY = True
except ImportError:  # dspy is optional
    HAS_DSPY = False


class _StandInExample(dict):
    """dspy.Example's documented surface: keyword fields, ``with_inputs``, ``inputs()``/``labels()``."""

    def with_inputs(self, *keys: str) -> _StandInExample:
        new = _StandInExample(self)
        new._input_keys = set(keys)
        return new

    def inputs(self) -> dict:
        return {k: v for k, v in self.items() if k in self._input_keys}

    def labels(self) -> dict:
        return {k: v for k, v in self.items() if k not in self._input_keys}

    def toDict(self) -> dict:
        return dict(self)


@pytest.fixture
def dspy_module(monkeypatch):
    if HAS_DSPY:
        return dspy
    stand_in = types.ModuleType("dspy")
    stand_in.Example = _StandInExample
    monkeypatch.setitem(sys.modules, "dspy", stand_in)
    return stand_in


@pytest.fixture
def ws(tmp_path, embedder, data_slice):
    from fewshot import Workspace

    ws = Workspace.open(tmp_path / "home")
    ws.use_embedder(embedder)
    path = data_slice("trec", "train", 40)
    ws.ingest("trec", path, label_field="label_text")
    ws.build_index("trec")
    ws.rows = [json.loads(line) for line in path.read_text().splitlines()]
    yield ws
    ws.close()


def test_retrieves_examples_with_inputs(ws, dspy_module):
    row = ws.rows[3]
    retriever = FewshotDSPyRetriever(ws, "trec", k=3, input_keys=["question"], output_key="answer")
    got = retriever(question=row["text"])
    assert len(got) == 3 and all(isinstance(ex, dspy_module.Example) for ex in got)
    assert got[0].toDict() == {"question": row["text"], "answer": row["label_text"]}
    assert dict(got[0].inputs().items()) == {"question": row["text"]}
    assert dict(got[0].labels().items()) == {"answer": row["label_text"]}
    assert all(set(ex.toDict()) == {"question", "answer"} for ex in got)  # no pool field leaks
    assert [ex.toDict() for ex in retriever.retrieve(row["text"])] == [ex.toDict() for ex in got]
    default = FewshotDSPyRetriever(ws, "trec", k=1)
    assert default(text=row["text"])[0].toDict() == {"text": row["text"], "label": row["label_text"]}


def test_rejects_bad_arguments(ws, dspy_module):
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['input_key'\]"):
        FewshotDSPyRetriever(ws, "trec", input_key="question")
    with pytest.raises(InvalidInputError, match="not a string"):
        FewshotDSPyRetriever(ws, "trec", input_keys="question")
    with pytest.raises(InvalidInputError, match="also an input key"):
        FewshotDSPyRetriever(ws, "trec", input_keys=["label"])
    with pytest.raises(InvalidInputError, match="inputs lack 'question'"):
        FewshotDSPyRetriever(ws, "trec", input_keys=["question"])(query="x")


def test_missing_dspy_is_named(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "dspy", None)  # import dspy -> ImportError
    with pytest.raises(MissingDependencyError, match=r"fewshot\[dspy\]"):
        FewshotDSPyRetriever(ws, "trec", k=1)(text="x")


@pytest.mark.skipif(not HAS_DSPY, reason="dspy is not installed (pip install 'fewshot[dspy]')")
def test_knn_fewshot_uses_the_pool(ws):
    from dspy.utils import DummyLM

    row = ws.rows[5]
    retriever = FewshotDSPyRetriever(ws, "trec", k=2, input_keys=["question"], output_key="answer")
    program = retriever.knn_fewshot(max_bootstrapped_demos=0, max_labeled_demos=2).compile(
        dspy.Predict("question -> answer")
    )
    lm = DummyLM([{"answer": row["label_text"]}])
    with dspy.settings.context(lm=lm):
        out = program(question=row["text"])
    assert out.answer == row["label_text"]
    prompt = json.dumps(lm.history[-1]["messages"])
    demos = retriever(question=row["text"])
    assert all(json.dumps(ex.question)[1:-1] in prompt for ex in demos)
