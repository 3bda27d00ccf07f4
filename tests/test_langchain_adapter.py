"""The LangChain example-selector adapter on a real pool (LangChain itself is optional).

The default suite checks our selector's own behaviour; with ``langchain-core`` installed (the
``langchain`` extra) the same checks run against ``SemanticSimilarityExampleSelector`` on the
same examples and the same model (the bundled MiniLM), and the rankings must match.
"""

from __future__ import annotations

import json

import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.integrations.langchain import FewshotExampleSelector

ANTONYMS = [
    {"input": "happy", "output": "sad", "note": "mood"},
    {"input": "tall", "output": "short", "note": "size"},
    {"input": "energetic", "output": "lethargic", "note": "mood"},
    {"input": "sunny", "output": "gloomy", "note": "weather"},
    {"input": "windy", "output": "calm", "note": "weather"},
    {"input": "fast", "output": "slow", "note": "speed"},
    {"input": "loud", "output": "quiet", "note": "sound"},
    {"input": "hot", "output": "cold", "note": "weather"},
]
QUERIES = [{"input": "worried"}, {"input": "rainy"}, {"input": "speedy"}, {"input": "noisy"}, {"input": "big"}]


@pytest.fixture
def ws(tmp_path, embedder):
    from fewshot import Workspace

    ws = Workspace.open(tmp_path / "home")
    ws.use_embedder(embedder)
    yield ws
    ws.close()


def test_select_and_add_examples(ws, data_slice):
    path = data_slice("sst5", "train", 60)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    ws.ingest("sst5", path, label_field="label_text")
    ws.build_index("sst5")
    sel = FewshotExampleSelector(ws, "sst5", k=3, input_key="review", output_key="sentiment")
    got = sel.select_examples({"review": rows[5]["text"]})
    assert len(got) == 3 and got[0]["review"] == rows[5]["text"] and got[0]["sentiment"] == rows[5]["label_text"]
    # only the declared keys: the pool's other fields (the gold columns, ids) never leak
    assert all(set(ex) == {"review", "sentiment"} for ex in got)
    new_id = sel.add_example({"review": "a luminous, heartbreaking triumph of a film", "sentiment": "great"})
    top = sel.select_examples({"review": "a luminous, heartbreaking triumph of a film"})[0]
    assert top == {"review": "a luminous, heartbreaking triumph of a film", "sentiment": "great"}
    assert (
        ws.get_pool("sst5").counts["labeled"] == 61 and ws.list_examples("sst5", limit=None)[-1].external_id == new_id
    )
    # a duplicate returns the id already in the pool, and adds nothing
    again = sel.add_example({"review": "a luminous, heartbreaking triumph of a film", "sentiment": "great"})
    assert again == new_id and ws.get_pool("sst5").counts["labeled"] == 61
    existing = sel.add_example({"review": rows[7]["text"], "sentiment": rows[7]["label_text"]})
    assert existing == str(rows[7]["id"]) and existing in {e.external_id for e in ws.iter_examples("sst5")}
    with pytest.raises(InvalidInputError, match="input variables lack 'review'"):
        sel.select_examples({"text": "x"})
    with pytest.raises(InvalidInputError, match="needs 'review' and 'sentiment'"):
        sel.add_example({"review": "x"})
    # example_keys narrows what comes back, as in LangChain
    narrow = FewshotExampleSelector(
        ws, "sst5", k=2, input_key="review", output_key="sentiment", example_keys=["sentiment"]
    )
    assert all(set(ex) == {"sentiment"} for ex in narrow.select_examples({"review": rows[5]["text"]}))


def test_unknown_keyword_arguments_are_rejected(ws):
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['input_keyz'\].*input_keys"):
        FewshotExampleSelector(ws, "p", input_keyz=["x"])
    with pytest.raises(TypeError, match="unknown keyword arguments"):
        FewshotExampleSelector.from_examples(ANTONYMS, workspace=ws, pool="p", vectorstore_kwargs={"k": 1})
    with pytest.raises(InvalidInputError, match="workspace="):
        FewshotExampleSelector.from_examples(ANTONYMS)
    with pytest.raises(InvalidInputError, match="vectorstore_cls is not used"):
        FewshotExampleSelector.from_examples(ANTONYMS, None, object, workspace=ws, pool="p")
    with pytest.raises(InvalidInputError, match="set output_key"):
        FewshotExampleSelector.from_examples([{"a": "1", "b": "2"}], workspace=ws, pool="p")
    with pytest.raises(InvalidInputError, match="lists of keys"):
        FewshotExampleSelector(ws, "p", input_keys="input")


def test_from_examples_input_and_example_keys(ws):
    sel = FewshotExampleSelector.from_examples(ANTONYMS, k=2, input_keys=["input"], workspace=ws, pool="antonyms")
    assert sel.output_key == "output" and ws.get_pool("antonyms").counts["labeled"] == len(ANTONYMS)
    got = sel.select_examples({"input": "rainy", "unused": "x"})
    assert len(got) == 2 and all(ex in ANTONYMS for ex in got)  # the examples exactly as given
    keys = FewshotExampleSelector(ws, "antonyms", k=2, input_keys=["input"], example_keys=["input", "output"])
    assert [set(ex) for ex in keys.select_examples({"input": "rainy"})] == [{"input", "output"}] * 2
    new = {"input": "bright", "output": "dark", "note": "light"}
    new_id = sel.add_example(new)
    assert sel.select_examples({"input": "bright"})[0] == new
    assert sel.add_example(dict(new)) == new_id  # a duplicate: the existing id, which is in the pool
    assert new_id in {e.external_id for e in ws.iter_examples("antonyms")}
    assert ws.get_pool("antonyms").counts["labeled"] == len(ANTONYMS) + 1
    with pytest.raises(InvalidInputError, match="input variables lack 'input'"):
        sel.select_examples({"word": "x"})


def test_matches_semantic_similarity_example_selector(ws, embedder):
    """Same examples, same model: the same examples in the same order, for every check."""
    pytest.importorskip("langchain_core")
    from langchain_core.embeddings import Embeddings
    from langchain_core.example_selectors import BaseExampleSelector, SemanticSimilarityExampleSelector
    from langchain_core.prompts import FewShotPromptTemplate, PromptTemplate
    from langchain_core.vectorstores import InMemoryVectorStore

    from fewshot.embed import SentenceEncoder

    class MiniLM(Embeddings):
        def __init__(self) -> None:
            self.encoder = SentenceEncoder(embedder.model, name=embedder.model_name)

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.encoder.encode(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    for input_keys, example_keys in ((["input"], None), (None, None), (["input"], ["output"])):
        pool = f"lc-{input_keys is None}-{example_keys is None}"
        ours = FewshotExampleSelector.from_examples(
            ANTONYMS, None, None, 3, input_keys, example_keys=example_keys, workspace=ws, pool=pool, output_key="output"
        )
        theirs = SemanticSimilarityExampleSelector.from_examples(
            ANTONYMS, MiniLM(), InMemoryVectorStore, 3, input_keys, example_keys=example_keys
        )
        for query in QUERIES:
            assert ours.select_examples(query) == theirs.select_examples(query), (input_keys, query)
        extra = {"input": "bright", "output": "dark", "note": "light"}
        assert ours.add_example(extra) in {e.external_id for e in ws.iter_examples(pool)}
        theirs.add_example(extra)
        for query in [{"input": "luminous"}, *QUERIES]:
            assert ours.select_examples(query) == theirs.select_examples(query), (input_keys, query)

    assert isinstance(ours, BaseExampleSelector)
    prompt = FewShotPromptTemplate(
        example_selector=ours,
        example_prompt=PromptTemplate.from_template("{input} -> {output}"),
        suffix="{input} ->",
        input_variables=["input"],
    )
    ours.example_keys = None
    assert prompt.format(input="speedy").startswith("fast -> slow")
