"""HFCausalLM on tiny real GPT-2 models: scoring against a hand computation, batching, KV reuse,
generation (greedy, stop strings, EOS, seeded sampling)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from lm_helpers import full_pass_logprobs

from fewshot.lm import HFCausalLM, LogLik, OptionScores

REQUESTS = [
    ("The capital of France is", " Paris"),
    ("Review: a gorgeous, witty movie.\nSentiment:", " great"),
    ("The movie is terrible, the plot is", " bad and the ending is okay"),
    ("isn't it?", " it's fine"),
    ("A", " stirring film"),
    ("They presume their audience won't sit still for a lesson. The movie is", " great"),
]


def _by_hand(lm, prompt: str, cont: str) -> list[float]:
    """Tokenise prompt+continuation once; the last len(whole)-len(prompt) tokens are scored."""
    tok = lm.tokenizer
    prefix = [tok.cls_token_id] if tok.cls_token_id is not None else []
    whole = tok(prompt + cont, add_special_tokens=False)["input_ids"]
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert whole[:n_prompt] == tok(prompt, add_special_tokens=False)["input_ids"]  # clean boundary
    lps = full_pass_logprobs(lm, prefix + whole)
    return lps[len(lps) - (len(whole) - n_prompt) :]


def test_loglikelihood_equals_one_full_forward_pass(any_lm):
    results = any_lm.loglikelihood(REQUESTS)
    assert len(results) == len(REQUESTS)
    for (prompt, cont), ll in zip(REQUESTS, results):
        expected = _by_hand(any_lm, prompt, cont)
        assert isinstance(ll, LogLik)
        assert ll.n_tokens == len(expected)
        assert ll.token_logprobs == pytest.approx(expected, abs=1e-4)
        assert ll.sum == pytest.approx(sum(expected), abs=1e-4)
        assert ll.mean == pytest.approx(sum(expected) / len(expected), abs=1e-4)
        assert all(lp <= 0 for lp in ll.token_logprobs)


def test_boundary_merge_scores_the_straddling_token(bpe_lm):
    # "is " + "great": byte-level BPE writes the space and the word as one token "Ġgreat",
    # which holds continuation characters, so it is scored (and the lone "Ġ" is not).
    tok = bpe_lm.tokenizer
    prompt_ids = tok("The movie is ", add_special_tokens=False)["input_ids"]
    whole = tok("The movie is great", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(prompt_ids[-1]) == "Ġ" and whole[:-1] == prompt_ids[:-1]
    [ll] = bpe_lm.loglikelihood([("The movie is ", "great")])
    assert ll.n_tokens == 1
    assert ll.token_logprobs[0] == pytest.approx(full_pass_logprobs(bpe_lm, whole)[-1], abs=1e-4)
    # ... which is the same number as writing the space in the continuation
    [ll2] = bpe_lm.loglikelihood([("The movie is", " great")])
    assert ll2.token_logprobs == pytest.approx(ll.token_logprobs, abs=1e-5)


def test_empty_prompt_is_conditioned_on_the_start_token(any_lm):
    [ll] = any_lm.loglikelihood([("", "The movie is great")])
    tok = any_lm.tokenizer
    start = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    ids = [start] + tok("The movie is great", add_special_tokens=False)["input_ids"]
    assert ll.token_logprobs == pytest.approx(full_pass_logprobs(any_lm, ids), abs=1e-4)


def test_batched_equals_unbatched(any_lm):
    batched = any_lm.loglikelihood(REQUESTS)  # batch_size=4: two left-padded batches
    single = [any_lm.loglikelihood([r])[0] for r in REQUESTS]
    for a, b in zip(batched, single):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
        assert a.is_greedy == b.is_greedy


def test_progress_callback(wp_lm):
    calls = []
    wp_lm.loglikelihood(REQUESTS, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 6), (6, 6)]


def test_is_greedy(any_lm):
    tok = any_lm.tokenizer
    for prompt in ["The movie is", "The capital of France is", "Review:", "A stirring"]:
        [g] = any_lm.generate([prompt], max_new_tokens=1)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        # the generated token, written so that prompt + continuation re-tokenises to it
        found = [
            c
            for c in (g.text, " " + g.text)
            if c.strip()
            and len(tok(prompt + c, add_special_tokens=False)["input_ids"]) == len(p_ids) + 1
            and tok(prompt + c, add_special_tokens=False)["input_ids"][:-1] == p_ids
        ]
        if found:
            cont = found[0]
            break
    else:
        pytest.skip("no greedy token re-tokenises cleanly after its prompt")
    [ll] = any_lm.loglikelihood([(prompt, cont)])
    assert ll.is_greedy
    assert ll.token_logprobs[0] == pytest.approx(g.token_logprobs[0], abs=1e-4)
    others = any_lm.loglikelihood([(prompt, " Paris"), (prompt, " London")])
    assert not all(o.is_greedy for o in others)


OPTIONS = [" terrible", " bad", " okay", " good", " great", " not bad at all"]


@pytest.mark.parametrize(
    "prompt",
    [
        "Review: a gorgeous, witty, seductive movie.\nSentiment:",
        "The movie is ",  # bpe: the trailing space merges into every option's first token
    ],
)
def test_kv_reuse_on_equals_off(any_lm, prompt):
    on = any_lm.score_options(prompt, OPTIONS, kv_reuse=True)
    off = any_lm.score_options(prompt, OPTIONS, kv_reuse=False)
    assert isinstance(on, OptionScores)
    np.testing.assert_allclose(on.mean_nll, off.mean_nll, atol=1e-4)
    np.testing.assert_allclose(on.sum_nll, off.sum_nll, atol=1e-4)
    assert on.n_tokens.tolist() == off.n_tokens.tolist()
    assert on.best == off.best


def test_kv_reuse_with_one_option_per_batch(wordpiece_dir):
    one = HFCausalLM.from_pretrained(wordpiece_dir, batch_size=1)
    many = HFCausalLM.from_pretrained(wordpiece_dir, batch_size=8)
    prompt = "Review: apparently reassembled from the cutting-room floor.\nSentiment:"
    a, b = one.score_options(prompt, OPTIONS), many.score_options(prompt, OPTIONS)
    np.testing.assert_allclose(a.mean_nll, b.mean_nll, atol=1e-4)


def test_option_scores_prediction_and_confidence(any_lm):
    prompt = "The capital of France is"
    scores = any_lm.score_options(prompt, OPTIONS)
    lls = any_lm.loglikelihood([(prompt, o) for o in OPTIONS])
    mean_nll = np.array([-ll.mean for ll in lls])
    np.testing.assert_allclose(scores.mean_nll, mean_nll, atol=1e-4)
    assert scores.best == int(np.argmin(mean_nll))
    assert scores.probs.sum() == pytest.approx(1.0)
    assert scores.confidence == pytest.approx(scores.probs.max())
    assert scores.best_mean_loglik == pytest.approx(lls[scores.best].mean, abs=1e-4)
    assert scores.n_tokens.tolist() == [ll.n_tokens for ll in lls]


def test_option_scores_from_known_values():
    s = OptionScores(mean_nll=[2.0, 1.0, 1.0], sum_nll=[2.0, 2.0, 3.0], n_tokens=[1, 2, 3])
    assert s.best == 1  # ties go to the first
    e = math.exp
    assert s.confidence == pytest.approx(e(-1) / (e(-2) + 2 * e(-1)))
    assert s.best_mean_loglik == -1.0


def test_long_prompt_is_cut_from_the_left(wp_lm, caplog):
    assert wp_lm.max_context == 128
    long_prompt = " ".join(["the movie is great"] * 60)  # ~240 tokens
    with caplog.at_level(logging.WARNING, logger="fewshot.lm"):
        [ll] = wp_lm.loglikelihood([(long_prompt, " bad")])
    assert "dropped from the left" in caplog.text
    assert ll.n_tokens == 1 and math.isfinite(ll.sum)
    scores = wp_lm.score_options(long_prompt, [" bad", " great"])
    assert scores.n_tokens.tolist() == [1, 1]
    [g] = wp_lm.generate([long_prompt], max_new_tokens=4)
    assert g.n_tokens >= 1


def test_count_tokens(any_lm):
    text = "The movie is great and the actors are great too."
    assert any_lm.count_tokens(text) == len(any_lm.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert any_lm.count_tokens("") == 0


# -- generation --------------------------------------------------------------------------------


PROMPTS = ["The movie is", "Review: a gorgeous, witty movie.\nSentiment:", "The capital of France is"]


def test_greedy_is_deterministic_and_batch_invariant(any_lm):
    a = any_lm.generate(PROMPTS, max_new_tokens=8)
    b = any_lm.generate(PROMPTS, max_new_tokens=8)
    single = [any_lm.generate([p], max_new_tokens=8)[0] for p in PROMPTS]
    assert [g.text for g in a] == [g.text for g in b] == [g.text for g in single]
    for g, s in zip(a, single):
        assert g.token_logprobs == pytest.approx(s.token_logprobs, abs=1e-4)
    assert [g.prompt_index for g in a] == [0, 1, 2]


def test_greedy_logprobs_match_scoring(bpe_lm):
    prompt = "The movie is"
    [g] = bpe_lm.generate([prompt], max_new_tokens=6)
    ids = bpe_lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    gen_ids = bpe_lm.tokenizer(prompt + g.text, add_special_tokens=False)["input_ids"][len(ids) :]
    if len(gen_ids) != g.n_tokens:
        pytest.skip("generated text does not re-tokenise to the same tokens")
    lps = full_pass_logprobs(bpe_lm, ids + gen_ids)[len(ids) - 1 :]
    assert g.token_logprobs == pytest.approx(lps, abs=1e-4)
    assert g.mean_logprob == pytest.approx(sum(lps) / len(lps), abs=1e-4)


def test_stop_strings_cut_the_text(any_lm):
    [free] = any_lm.generate(["The movie is"], max_new_tokens=12)
    assert free.finish_reason in ("length", "eos")
    # a stop string of two ASCII letters from the middle of the free text
    k = next(
        k
        for k in range(len(free.text) // 2, len(free.text) - 1)
        if free.text[k : k + 2].isascii() and free.text[k : k + 2].isalpha()
    )
    stop = free.text[k : k + 2]
    expected = free.text[: free.text.find(stop)]
    [cut] = any_lm.generate(["The movie is"], max_new_tokens=12, stop=["@@never@@", stop])
    assert cut.text == expected
    assert cut.finish_reason == "stop"
    assert 1 <= cut.n_tokens <= free.n_tokens
    assert cut.token_logprobs == pytest.approx(free.token_logprobs[: cut.n_tokens], abs=1e-4)
    # a stop string at the very start gives empty text, scored by the token that ended it
    first = free.text.lstrip()[:1]
    [empty] = any_lm.generate(["The movie is"], max_new_tokens=12, stop=[first])
    assert empty.text == free.text[: free.text.find(first)]
    assert empty.text.strip() == ""
    assert empty.n_tokens == 1


def test_eos_ends_generation(wordpiece_dir):
    lm = HFCausalLM.from_pretrained(wordpiece_dir)
    [free] = lm.generate(["The movie is"], max_new_tokens=5)
    first = lm.tokenizer(free.text, add_special_tokens=False)["input_ids"][0]
    lm.eos_ids = {first}
    [g] = lm.generate(["The movie is"], max_new_tokens=5)
    assert g.finish_reason == "eos"
    assert g.text == ""
    assert g.n_tokens == 1  # the EOS token itself scores an empty answer


def test_sampling_with_a_seed_repeats(any_lm):
    kw = dict(max_new_tokens=8, temperature=1.0, seed=123, n=3)
    a = any_lm.generate(PROMPTS, **kw)
    b = any_lm.generate(PROMPTS, **kw)
    assert len(a) == len(PROMPTS) * 3
    assert [(g.prompt_index, g.sample_index) for g in a] == [(p, s) for p in range(3) for s in range(3)]
    assert [g.text for g in a] == [g.text for g in b]
    other = any_lm.generate(PROMPTS, **{**kw, "seed": 124})
    assert [g.text for g in a] != [g.text for g in other]
    # samples of one prompt differ from each other
    assert len({g.text for g in a if g.prompt_index == 0}) > 1


def test_sampling_does_not_depend_on_batching(wordpiece_dir):
    small = HFCausalLM.from_pretrained(wordpiece_dir, batch_size=1)
    big = HFCausalLM.from_pretrained(wordpiece_dir, batch_size=16)
    kw = dict(max_new_tokens=6, temperature=0.8, seed=7, n=2)
    assert [g.text for g in small.generate(PROMPTS, **kw)] == [g.text for g in big.generate(PROMPTS, **kw)]


def test_greedy_with_n_gives_copies(wp_lm):
    gens = wp_lm.generate(["The movie is"], max_new_tokens=4, n=3)
    assert len({g.text for g in gens}) == 1 and [g.sample_index for g in gens] == [0, 1, 2]


def test_generation_progress(wp_lm):
    calls = []
    wp_lm.generate(PROMPTS * 2, max_new_tokens=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (6, 6)


def test_models_loaded_in_parallel_threads_are_whole(wordpiece_dir):
    """transformers builds a model on the meta device by patching torch process-wide while it loads,
    so two loads at once left meta tensors in each other's model (35 of 36 loads failed here
    without the load lock: "Cannot copy out of meta tensor"). The API's job threads load LMs."""
    import threading

    from fewshot.lm import get_backend

    errors: list[str] = []

    def load() -> None:
        for _ in range(4):
            try:
                lm = get_backend(f"hf:{wordpiece_dir}", device="cpu")
                assert lm.score_options("The movie is", [" great", " bad"]) is not None
                lm.close()
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
