"""Feedback mining on real SST-5 items with a tiny real GPT-2: candidates, scores, cache, resume."""

from __future__ import annotations

import pytest

from fewshot.prompt import PromptTemplate
from fewshot.retrieve import Example
from fewshot.store.feedback import SQLFeedbackCache
from fewshot.udr import MemoryFeedbackCache, MiningStats, UDRTask, bm25_candidates, merge_candidates, mine_feedback

TEMPLATE = PromptTemplate(name="sst5", input="Review: {text}\nSentiment:", output=" {label}")


@pytest.fixture(scope="module")
def task(data_dir):
    from shared_data import read_jsonl

    rows = read_jsonl(data_dir / "sst5" / "train.jsonl", 24)
    pool = [Example(id=r["id"], text=r["text"], label=r["label_text"]) for r in rows]
    return UDRTask("sst5", TEMPLATE, pool, pool[:4], "Sentiment of the review: ")


def test_bm25_candidates_exclude_self_and_cap(task):
    cands = bm25_candidates(task, 5)
    assert set(cands) == {q.id for q in task.queries}
    for qid, ids in cands.items():
        assert qid not in ids
        assert len(ids) == 5 and len(set(ids)) == 5


def test_feedback_request_is_demo_newline_query(task):
    prompt, cont = task.feedback_request(task.queries[0], task.pool[5])
    d, q = task.pool[5], task.queries[0]
    assert prompt == f"Review: {d.text}\nSentiment: {d.label}\nReview: {q.text}\nSentiment:"
    assert cont == f" {q.label}"


def test_mining_scores_match_the_lm_and_resume_from_cache(task, tiny_lm, tmp_path):
    cands = bm25_candidates(task, 4)
    cache = SQLFeedbackCache.sqlite(tmp_path / "fb.sqlite")
    stats, seen = MiningStats(), []
    fb = mine_feedback(
        task, tiny_lm, cands, cache=cache, chunk_size=5, stats=stats, progress=lambda d, t: seen.append((d, t))
    )
    assert stats.pairs == 16 and stats.scored == 16 and stats.cached == 0
    assert stats.lm_calls == 4 and stats.tokens > 16
    assert seen[-1] == (16, 16)
    # a score is the mean NLL of the gold output given "x_c y_c\nx"
    q = task.queries[1]
    cid = cands[q.id][2]
    ll = tiny_lm.loglikelihood([task.feedback_request(q, task.demo(cid))])[0]
    assert fb[q.id][cid] == pytest.approx(-ll.mean, abs=1e-4)
    assert len({round(v, 6) for d in fb.values() for v in d.values()}) > 1  # not constant

    # resume: a second run (a fresh cache object on the same file) asks the LM nothing
    again = MiningStats()
    fb2 = mine_feedback(task, tiny_lm, cands, cache=SQLFeedbackCache.sqlite(tmp_path / "fb.sqlite"), stats=again)
    assert again.scored == 0 and again.cached == 16 and again.lm_calls == 0
    assert fb2 == fb

    # more candidates: only the new pairs are scored
    more = merge_candidates(cands, bm25_candidates(task, 6))
    third = MiningStats()
    mine_feedback(task, tiny_lm, more, cache=cache, stats=third)
    assert third.scored == 8 and third.cached == 16


def test_memory_cache_keeps_first_score():
    c = MemoryFeedbackCache()
    c.put_many("lm", "t", [("i", "d", 1.0, 3)])
    c.put_many("lm", "t", [("i", "d", 2.0, 3)])
    assert c.get_many("lm", "t", [("i", "d"), ("i", "x")]) == {("i", "d"): 1.0}
    assert c.get_many("other-lm", "t", [("i", "d")]) == {}
