"""PromptBuilder with the real MiniLM tokenizer and BM25-retrieved SST-5 / GSM8K demos."""

from __future__ import annotations

import hashlib
import json

import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.prompt import (
    ApproxTokenCounter,
    PromptBuilder,
    PromptRecord,
    PromptTemplate,
    get_template,
)
from fewshot.retrieve import BM25Retriever, Corpus, Filter

SST5_WORDS = {0: "terrible", 1: "bad", 2: "okay", 3: "good", 4: "great"}


@pytest.fixture(scope="module")
def sst5_corpus(sst5_rows):
    return Corpus.from_records(sst5_rows[:250])


@pytest.fixture(scope="module")
def queries(sst5_rows):
    return [r["text"] for r in sst5_rows[250:270]]


@pytest.fixture(scope="module")
def retrieved(sst5_corpus, queries):
    return BM25Retriever(sst5_corpus).retrieve(queries, 16)


@pytest.fixture(scope="module")
def template():
    return get_template("classification", verbalizer=SST5_WORDS)


def true_count(raw_tokenizer, text: str) -> int:
    return len(raw_tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


@pytest.mark.parametrize("max_tokens", [80, 120, 200, 400])
def test_budget_respected_with_real_tokenizer(template, counter, raw_tokenizer, queries, retrieved, max_tokens):
    reserve = 6
    builder = PromptBuilder(template, counter, max_tokens=max_tokens, reserve_tokens=reserve)
    for query, demos in zip(queries, retrieved):
        built = builder.build(query, demos)
        n = true_count(raw_tokenizer, built.text)
        assert n == built.n_tokens
        assert n + reserve <= max_tokens
        # greedy: the next demonstration in retrieval order would not have fitted
        used = len(built.demos)
        if used < len(demos):
            # the chosen ones are a prefix of the retrieval order
            assert sorted(d.rank for d in built.demos) == list(range(used))
            nxt = template.render_demo(demos[used])
            extra = true_count(raw_tokenizer, nxt + template.separator)
            assert n + extra + reserve > max_tokens  # WordPiece: joins add no tokens
    # a larger budget never packs fewer demonstrations
    small = PromptBuilder(template, counter, max_tokens=90).build(queries[0], retrieved[0])
    large = PromptBuilder(template, counter, max_tokens=320).build(queries[0], retrieved[0])
    assert len(large.demos) >= len(small.demos)


def test_k_limit(template, counter, queries, retrieved):
    built = PromptBuilder(template, counter, max_tokens=2000, k=3).build(queries[0], retrieved[0])
    assert len(built.demos) == 3 and built.n_candidates == 16


def test_orders(template, counter, queries, retrieved):
    demos = retrieved[1]
    default = PromptBuilder(template, counter, max_tokens=2000, k=5).build(queries[1], demos)
    assert [d.rank for d in default.demos] == [4, 3, 2, 1, 0]  # most similar next to query
    assert default.order == "similar_last"
    closest = template.render_demo(demos[0])
    assert default.text.endswith(closest + template.separator + template.render_input(queries[1]))
    retrieval = PromptBuilder(template, counter, max_tokens=2000, k=5, order="retrieval").build(queries[1], demos)
    assert [d.rank for d in retrieval.demos] == [0, 1, 2, 3, 4]
    shuffled = [
        PromptBuilder(template, counter, max_tokens=2000, k=5, order="random", seed=s).build(queries[1], demos)
        for s in (1, 1, 2, 3, 4)
    ]
    assert [d.rank for d in shuffled[0].demos] == [d.rank for d in shuffled[1].demos]
    assert all(sorted(d.rank for d in p.demos) == [0, 1, 2, 3, 4] for p in shuffled)
    assert len({tuple(d.rank for d in p.demos) for p in shuffled}) > 1
    with pytest.raises(InvalidInputError):
        PromptBuilder(template, counter, max_tokens=100, order="sorted").build("q", demos)


def test_truncation_keeps_the_label(counter, raw_tokenizer, gsm8k_rows):
    corpus = Corpus.from_records(gsm8k_rows, text_field="question", label_field=None, output_field="answer")
    tpl = PromptTemplate(name="qa-final", input="Q: {text}\nA:", output=" {final_answer}")
    demos = BM25Retriever(corpus).retrieve("How much money does she earn per week?", 6)[0]
    cap = 30
    built = PromptBuilder(tpl, counter, max_tokens=1000, max_demo_tokens=cap, order="retrieval").build(
        "How much does she earn?", demos
    )
    assert len(built.demos) == 6 and any(built.truncated)
    assert list(built.truncated) == [d.truncated for d in built.demos]
    blocks = built.text.split(tpl.separator)[:-1]
    for block, d, demo in zip(blocks, built.demos, demos):
        assert true_count(raw_tokenizer, block) <= cap
        assert block.endswith(f"A: {demo.example.fields['final_answer']}")
        if d.truncated:
            assert demo.text not in block


def test_chat_messages(template, counter, queries, retrieved):
    built = PromptBuilder(template, counter, max_tokens=2000, k=4).build(queries[2], retrieved[2])
    msgs = built.messages
    assert len(msgs) == 1 + 2 * 4 + 1
    assert msgs[0] == {"role": "system", "content": template.instruction}
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant"] * 4 + ["user"]
    assert msgs[-1]["content"] == f"Review: {queries[2]}\nSentiment:"
    by_rank = {d.rank: d for d in retrieved[2]}
    for (user, assistant), d in zip(zip(msgs[1:-1:2], msgs[2:-1:2]), built.demos):
        assert assistant["content"] == SST5_WORDS[by_rank[d.rank].label]
        assert user["content"] == f"Review: {by_rank[d.rank].text}\nSentiment:"
    no_instr = get_template("generation")
    plain = PromptBuilder(no_instr, counter, max_tokens=200).build("x", [{"text": "a", "output": "b"}])
    assert [m["role"] for m in plain.messages] == ["user", "assistant", "user"]


def test_missing_field_and_oversized_query(template, counter, queries, retrieved):
    nli = PromptTemplate(name="nli", input="{premise}\nQuestion: {text}\nAnswer:", output=" {label}")
    with pytest.raises(InvalidInputError, match="'premise'"):
        PromptBuilder(nli, counter, max_tokens=500).build({"text": "q", "premise": "p"}, retrieved[0])
    with pytest.raises(InvalidInputError, match="query alone"):
        PromptBuilder(template, counter, max_tokens=10).build(" ".join(queries), retrieved[0])


def test_to_dict_and_record(template, counter, queries, retrieved):
    built = PromptBuilder(template, counter, max_tokens=300).build(queries[3], retrieved[3], retriever_name="bm25")
    d = built.to_dict()
    assert list(d) == [
        "text",
        "messages",
        "demos",
        "n_tokens",
        "template_name",
        "truncated",
        "query_hash",
        "max_tokens",
        "reserve_tokens",
        "n_candidates",
        "order",
        "counter",
        "retriever_name",
    ]
    assert json.loads(json.dumps(d)) == d
    assert d["query_hash"] == hashlib.sha256(queries[3].encode()).hexdigest()
    record = built.record()
    assert isinstance(record, PromptRecord) and len(record.id) == 32
    assert record.demo_ids == tuple(x.id for x in built.demos)
    assert record.scores == tuple(x.score for x in built.demos)
    assert record.retriever_name == "bm25" and record.template_name == "classification"
    rd = record.to_dict()
    assert json.loads(json.dumps(rd)) == rd and rd["created"].endswith("+00:00")
    assert built.record().id != record.id


def test_works_with_filters_and_approx_counter(template, sst5_corpus, queries):
    demos = BM25Retriever(sst5_corpus).retrieve(queries[:1], 8, filter=Filter(labels=[4]))[0]
    built = PromptBuilder(template, ApproxTokenCounter(), max_tokens=200).build(queries[0], demos)
    assert built.demos and built.text.count("Sentiment: great") == len(built.demos)
    assert built.counter == "approx:4"
