"""Contract checks for every pluggable family, as plain functions (scikit-learn's ``check_estimator``).

The ``test_*_contract.py`` modules of this folder run every check on every name registered in the
family's `fewshot.registry.Registry` (parametrized at collection time). The functions are plain
so that any test can run them on a toy implementation it registers itself::

    from checks import check_retriever

    RETRIEVERS.register("mine", MyRetriever)
    try:
        check_retriever("mine", corpus, queries)
    finally:
        RETRIEVERS.unregister("mine")

Each check raises ``AssertionError`` (or lets an unexpected exception through) on a breach.

Families and what they promise
------------------------------
* selection (`fewshot.annotate.STRATEGIES`): `SELECTION_CHECKS`, `check_selection`.
* retrievers (`fewshot.retrieve.RETRIEVERS`, plus any `BaseRetriever` instance such as a UDR
  model's `DenseRetriever`): `RETRIEVER_CHECKS`, `RetrieverCase`, `check_retriever`,
  `check_retriever_case`, `check_retriever_registration`, `make_retriever`.
* LM backends (`fewshot.lm.BACKENDS`): `LM_CHECKS`, `check_lm_backend`, `check_backend_spec`,
  `check_unknown_backend_spec`.
* skill predictors (`fewshot.adaptive.PREDICTORS`): `PREDICTOR_CHECKS`, `check_predictor`,
  `make_predictor`.
* prompt templates (`fewshot.prompt.TEMPLATES`): `TEMPLATE_CHECKS`, `check_template`,
  `check_template_samples_cover`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fewshot.exceptions import InvalidInputError

__all__ = [
    "SELECTION_CHECKS",
    "check_selection",
    "RETRIEVER_CHECKS",
    "RetrieverCase",
    "make_retriever",
    "check_retriever",
    "check_retriever_case",
    "check_retriever_registration",
    "LM_CHECKS",
    "LM_REQUESTS",
    "check_lm_backend",
    "check_backend_spec",
    "check_unknown_backend_spec",
    "PREDICTOR_CHECKS",
    "make_predictor",
    "check_predictor",
    "check_predictor_for_pool",
    "TEMPLATE_CHECKS",
    "check_template",
    "check_template_samples_cover",
]


def _name(fn: Callable[..., Any]) -> str:
    return fn.__name__


# =============================================================================================
# Selection methods
# =============================================================================================
# Every check takes (name, X, params): a registered method name, a pool matrix (n >= 40 rows)
# and the extra keyword parameters the method needs (e.g. votek2's ``confidence=``).

_LABELED = [0, 5, 11]


def _select(name: str, X: Any, budget: Any, params: Mapping[str, Any], **kw: Any):
    from fewshot.annotate import select

    return select(X, budget, name, **kw, **dict(params))


def check_selection_output(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """indices: int64, 1-D, ``budget`` unique rows in range, none labeled; scores: float64, one per
    pick, finite; method, params (JSON, with ``seed`` and ``center``), influence."""
    from fewshot.annotate import Selection

    n, budget = X.shape[0], 9
    sel = _select(name, X, budget, params, labeled=_LABELED, seed=4)
    assert isinstance(sel, Selection), type(sel)
    assert sel.method == name, (sel.method, name)
    idx = sel.indices
    assert isinstance(idx, np.ndarray) and idx.dtype == np.int64 and idx.shape == (budget,), (
        type(idx),
        getattr(idx, "dtype", None),
        getattr(idx, "shape", None),
    )
    assert len(sel) == budget
    assert len(set(idx.tolist())) == budget, f"duplicate picks: {idx.tolist()}"
    assert idx.min() >= 0 and idx.max() < n, idx.tolist()
    assert not set(idx.tolist()) & set(_LABELED), f"labeled rows picked: {idx.tolist()}"
    scores = sel.scores
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64 and scores.shape == (budget,), (
        getattr(scores, "dtype", None),
        getattr(scores, "shape", None),
    )
    assert np.isfinite(scores).all(), scores
    assert sel.influence is None or (isinstance(sel.influence, float) and math.isfinite(sel.influence))
    assert isinstance(sel.params, dict)
    json.dumps(sel.params)  # stored in the database and returned by the API
    json.dumps(sel.to_dict())
    assert sel.params.get("seed") == 4 and sel.params.get("center") is True, sel.params


def check_selection_deterministic(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """The same seed gives the same picks and scores."""
    a = _select(name, X, 8, params, seed=7)
    b = _select(name, X, 8, params, seed=7)
    assert a.indices.tolist() == b.indices.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.params == b.params


def check_selection_bad_budget(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """budget 0, negative, above the pool, above what ``labeled`` leaves, or not an int: InvalidInputError."""
    n = X.shape[0]
    for budget in (0, -1, n + 1, 2.0, "3", True):
        with pytest.raises(InvalidInputError, match="budget"):
            _select(name, X, budget, params)
    with pytest.raises(InvalidInputError, match="budget"):
        _select(name, X, n - len(_LABELED) + 1, params, labeled=_LABELED)


def check_selection_bad_vectors(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """Empty, 1-D, 3-D, non-numeric, NaN or infinite input: InvalidInputError (the input is not modified)."""
    for bad in (np.zeros((0, X.shape[1])), np.zeros((X.shape[0], 0)), X[0], X[None], [["a", "b"]]):
        with pytest.raises(InvalidInputError):
            _select(name, bad, 1, params)
    for value in (np.nan, np.inf, -np.inf):
        Y = np.array(X, dtype=np.float32, copy=True)
        Y[3, 1] = value
        with pytest.raises(InvalidInputError, match="row 3"):
            _select(name, Y, 2, params)
    Y = np.array(X, dtype=np.float32, copy=True)
    before = Y.copy()
    _select(name, Y, 4, params)
    np.testing.assert_array_equal(Y, before)


def check_selection_continuation(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """A second round with ``labeled=`` the first round's picks returns only new rows; a budget of
    everything left returns exactly the unlabeled rows."""
    n = X.shape[0]
    first = _select(name, X, 8, params, seed=1)
    second = _select(name, X, 8, params, seed=1, labeled=first.indices)
    assert not set(first.indices.tolist()) & set(second.indices.tolist()), (
        first.indices.tolist(),
        second.indices.tolist(),
    )
    assert len(set(second.indices.tolist())) == 8
    rest = _select(name, X, n - 8, params, seed=1, labeled=first.indices.tolist())
    assert sorted(rest.indices.tolist()) == sorted(set(range(n)) - set(first.indices.tolist()))
    everything = _select(name, X, n, params, seed=1)
    assert sorted(everything.indices.tolist()) == list(range(n))


def check_selection_bad_labeled(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """labeled rows out of range or not integers: InvalidInputError."""
    n = X.shape[0]
    for labeled in ([n], [-1], [[1, 2]], ["a"], [0.5]):
        with pytest.raises(InvalidInputError, match="labeled"):
            _select(name, X, 2, params, labeled=labeled)


def check_selection_strategy_object(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """The registered class: a `SelectionStrategy` whose ``name`` is the registered name, with
    ``get_params`` (including ``center``), reporting progress within bounds; unknown keyword
    parameters are an InvalidInputError."""
    from fewshot.annotate import STRATEGIES, SelectionStrategy, get_strategy

    cls = STRATEGIES.get(name)
    assert isinstance(cls, type) and issubclass(cls, SelectionStrategy), cls
    strategy = get_strategy(name, **dict(params))
    assert strategy.name == name, (strategy.name, name)
    assert "center" in strategy.get_params()
    calls: list[tuple[int, int]] = []
    sel = strategy.select(X, 5, seed=None, progress=lambda done, total: calls.append((done, total)))
    assert len(sel) == 5
    assert all(isinstance(d, int) and isinstance(t, int) and 0 <= d <= t for d, t in calls), calls
    with pytest.raises(InvalidInputError):
        get_strategy(name, no_such_parameter=1, **dict(params))


def check_selection_confidence(name: str, X: np.ndarray, params: Mapping[str, Any]) -> None:
    """A method declaring ``needs_confidence`` refuses to run without a callable ``confidence=``
    and rejects one that does not return a finite score per candidate; ``needs_confidence`` is
    a bool when declared."""
    from fewshot.annotate import STRATEGIES

    needs = getattr(STRATEGIES.get(name), "needs_confidence", False)
    assert isinstance(needs, bool), needs
    if not needs:
        return
    rest = {k: v for k, v in params.items() if k != "confidence"}
    for bad in (None, "not callable"):
        with pytest.raises(InvalidInputError, match="confidence"):
            _select(name, X, 20, {**rest, "confidence": bad})
    for wrong in (lambda s, c: np.zeros(3), lambda s, c: np.full(len(c), np.nan)):
        with pytest.raises(InvalidInputError, match="confidence"):
            _select(name, X, 20, {**rest, "confidence": wrong})


SELECTION_CHECKS: list[Callable[[str, np.ndarray, Mapping[str, Any]], None]] = [
    check_selection_output,
    check_selection_deterministic,
    check_selection_bad_budget,
    check_selection_bad_vectors,
    check_selection_continuation,
    check_selection_bad_labeled,
    check_selection_strategy_object,
    check_selection_confidence,
]


def check_selection(name: str, X: Any, *, params: Mapping[str, Any] | None = None) -> None:
    """Run every selection check on the method registered as ``name`` over the pool ``X``."""
    X = np.asarray(X)
    for check in SELECTION_CHECKS:
        check(name, X, params or {})


# =============================================================================================
# Retrievers
# =============================================================================================


@dataclass
class RetrieverCase:
    """What the retriever checks need.

    make : callable() -> BaseRetriever
        Builds a fresh retriever over the same corpus each call (seeded retrievers must give the
        same results from a fresh instance).
    queries : list of str
        At least 3 query texts.
    ranked_by_score : bool
        Demos come best score first (``score`` non-increasing with ``rank``). False for
        retrievers whose order is not the score order (random draws, MMR, label round-robin).
    repeatable : bool
        The same instance returns the same results when asked twice (False for random draws,
        whose generator advances).
    tmp_path : Path, optional
        Where save/load round trips write (skipped without it).
    load_kwargs : dict
        Extra keyword arguments for ``type(retriever).load`` (added automatically: ``encoder=``
        when ``load`` takes one and the retriever has one, so the model is not loaded again).
    """

    make: Callable[[], Any]
    queries: list[str]
    ranked_by_score: bool = True
    repeatable: bool = True
    tmp_path: Path | None = None
    load_kwargs: dict[str, Any] = field(default_factory=dict)


def make_retriever(name: str, corpus: Any, *, dense: Any = None, params: Mapping[str, Any] | None = None) -> Any:
    """Build the retriever registered as ``name`` through `get_retriever`.

    Classes with ``needs_dense`` are built over ``dense`` (a `DenseRetriever`). A `DenseRetriever`
    subclass gets ``dense``'s encoder and index when ``dense`` is given (the corpus is then not
    embedded again).
    """
    from fewshot.retrieve import RETRIEVERS, DenseRetriever, get_retriever

    cls = RETRIEVERS.get(name)
    kw = dict(params or {})
    if getattr(cls, "needs_dense", False):
        assert dense is not None, f"retriever {name!r} needs_dense: pass dense="
        return get_retriever(name, dense=dense, **kw)
    if dense is not None and isinstance(cls, type) and issubclass(cls, DenseRetriever):
        kw.setdefault("encoder", dense.encoder)
        kw.setdefault("index", dense.index)
    return get_retriever(name, corpus, **kw)


def _ids(results: list[list[Any]]) -> list[list[Any]]:
    return [[d.id for d in demos] for demos in results]


def _two_labels(corpus: Any) -> list[Hashable]:
    labels = corpus.labels()
    assert len(labels) >= 2, f"the contract corpus needs >= 2 labels, got {labels}"
    return labels[:2]


def check_retriever_results(case: RetrieverCase) -> None:
    """k demos per query, ranks 0..k-1, unique ids, items of the corpus, finite float scores,
    non-increasing scores when ``ranked_by_score``; a str is a batch of one."""
    from fewshot.retrieve import Demo, Retriever

    r = case.make()
    assert isinstance(r, Retriever), type(r)  # name, corpus, search, retrieve
    k = 5
    results = r.retrieve(case.queries, k)
    assert isinstance(results, list) and len(results) == len(case.queries)
    for demos in results:
        assert isinstance(demos, list) and len(demos) == k, [d.id for d in demos]
        assert all(isinstance(d, Demo) for d in demos)
        assert [d.rank for d in demos] == list(range(k))
        ids = [d.id for d in demos]
        assert len(set(ids)) == k, f"duplicate ids {ids}"
        assert all(i in r.corpus for i in ids), ids
        scores = [d.score for d in demos]
        assert all(isinstance(s, float) and math.isfinite(s) for s in scores), scores
        if case.ranked_by_score:
            assert all(a >= b - 1e-6 for a, b in zip(scores, scores[1:])), f"scores not sorted: {scores}"
    if case.repeatable:
        one = r.retrieve(case.queries[0], k)
        assert _ids(one) == _ids(results[:1]), "a str query is a batch of one"


def check_retriever_k_larger_than_corpus(case: RetrieverCase) -> None:
    """Asking for more than the corpus holds returns every item once; asking for more than a
    filter allows returns exactly the allowed items."""
    from fewshot.retrieve import Filter

    r = case.make()
    n = len(r.corpus)
    [demos] = r.retrieve([case.queries[0]], n + 3)
    assert len(demos) == n and len({d.id for d in demos}) == n
    assert [d.rank for d in demos] == list(range(n))
    allowed = [ex.id for ex in list(r.corpus)[:4]]
    results = r.retrieve(case.queries, 10, filter=Filter(ids=allowed))
    for demos in results:
        assert sorted(map(str, (d.id for d in demos))) == sorted(map(str, allowed))
        assert [d.rank for d in demos] == list(range(len(allowed)))


def check_retriever_filter(case: RetrieverCase) -> None:
    """Label filters, excluded ids and per-query filters are honoured; a filter nothing passes
    gives empty lists."""
    from fewshot.retrieve import Filter

    r = case.make()
    labels = _two_labels(r.corpus)
    k = 6
    for demos in r.retrieve(case.queries, k, filter=Filter(labels=labels[:1])):
        assert len(demos) == k and all(d.label == labels[0] for d in demos), [d.label for d in demos]
    top = _ids(case.make().retrieve(case.queries[:1], 3))[0]
    [demos] = r.retrieve(case.queries[:1], 3, filter=Filter(exclude_ids=top[:1]))
    assert len(demos) == 3 and top[0] not in [d.id for d in demos]
    per_query = [Filter(labels=[labels[i % 2]]) for i in range(len(case.queries))]
    for i, demos in enumerate(r.retrieve(case.queries, 4, filter=per_query)):
        assert len(demos) == 4 and all(d.label == labels[i % 2] for d in demos), (i, [d.label for d in demos])
    assert r.retrieve(case.queries[:2], 3, filter=Filter(labels=["no such label"])) == [[], []]
    with pytest.raises(InvalidInputError):
        r.retrieve(case.queries, 3, filter=[Filter(labels=labels)])  # one filter for several queries
    with pytest.raises(InvalidInputError):
        r.retrieve(case.queries[:1], 3, filter=[{"labels": labels}])  # not a Filter


def check_retriever_deterministic(case: RetrieverCase) -> None:
    """A fresh retriever built the same way gives the same results; a batch equals its queries asked
    one at a time (fresh instances); the same instance twice too when ``repeatable``."""
    a = case.make().retrieve(case.queries, 5)
    b = case.make().retrieve(case.queries, 5)
    assert _ids(a) == _ids(b)
    np.testing.assert_allclose(
        [[d.score for d in x] for x in a], [[d.score for d in x] for x in b], rtol=1e-5, atol=1e-6
    )
    single = case.make()
    one_by_one = [single.retrieve([q], 5)[0] for q in case.queries]
    assert _ids(one_by_one) == _ids(a)
    if case.repeatable:
        r = case.make()
        assert _ids(r.retrieve(case.queries, 5)) == _ids(r.retrieve(case.queries, 5))


def check_retriever_bad_input(case: RetrieverCase) -> None:
    """k < 1 or not an int, and queries that are not strings: InvalidInputError; an empty batch
    gives an empty list (no search)."""
    r = case.make()
    for k in (0, -1, 1.5, True, "3", None):
        with pytest.raises(InvalidInputError):
            r.retrieve(case.queries, k)
    for queries in ([1, 2], [case.queries[0], None], [b"bytes"]):
        with pytest.raises(InvalidInputError):
            r.retrieve(queries, 3)
    assert r.retrieve([], 3) == []
    assert r.search([], 3).ids.shape == (0, 3)


def check_retriever_search_matches_retrieve(case: RetrieverCase) -> None:
    """``search`` (arrays over corpus keys, padded with -1) and ``retrieve`` (Demo lists) agree."""
    from fewshot.retrieve import PAD_ID, Hits

    k = 5
    hits = case.make().search(case.queries, k)
    demos = case.make().retrieve(case.queries, k)
    assert isinstance(hits, Hits) and hits.ids.shape == (len(case.queries), k) == hits.scores.shape
    r = case.make()
    for row, ds in zip(hits, demos):
        ids = row.ids.tolist()
        assert PAD_ID not in ids
        assert [ex.id for ex in r.corpus.examples_at(ids)] == [d.id for d in ds]
        np.testing.assert_allclose(row.scores, [d.score for d in ds], rtol=1e-5, atol=1e-6)


def check_retriever_save_load(case: RetrieverCase) -> None:
    """Where the class has ``save``/``load``: a loaded copy holds the same corpus and returns the
    same results (with and without a filter)."""
    import inspect

    from fewshot.retrieve import Filter

    r = case.make()
    cls = type(r)
    if not (callable(getattr(r, "save", None)) and callable(getattr(cls, "load", None))):
        pytest.skip(f"{cls.__name__} has no save/load")
    if case.tmp_path is None:
        pytest.skip("no tmp_path given")
    flt = Filter(labels=_two_labels(r.corpus)[:1])
    before = r.retrieve(case.queries, 5)
    before_f = r.retrieve(case.queries, 5, filter=flt)
    path = case.tmp_path / f"saved-{cls.__name__}"
    out = r.save(path)
    assert Path(out) == path and path.is_dir()
    kw = dict(case.load_kwargs)
    if "encoder" in inspect.signature(cls.load).parameters and hasattr(r, "encoder"):
        kw.setdefault("encoder", r.encoder)
    loaded = cls.load(path, **kw)
    assert isinstance(loaded, cls)
    assert [ex.to_dict() for ex in loaded.corpus] == [ex.to_dict() for ex in r.corpus]
    for got, want in (
        (loaded.retrieve(case.queries, 5), before),
        (loaded.retrieve(case.queries, 5, filter=flt), before_f),
    ):
        assert _ids(got) == _ids(want)
        np.testing.assert_allclose(
            [[d.score for d in x] for x in got], [[d.score for d in x] for x in want], rtol=1e-5, atol=1e-5
        )


RETRIEVER_CHECKS: list[Callable[[RetrieverCase], None]] = [
    check_retriever_results,
    check_retriever_k_larger_than_corpus,
    check_retriever_filter,
    check_retriever_deterministic,
    check_retriever_bad_input,
    check_retriever_search_matches_retrieve,
    check_retriever_save_load,
]


def check_retriever_registration(name: str) -> None:
    """The class registered as ``name`` is a `BaseRetriever` whose ``name`` is the registered name."""
    from fewshot.retrieve import RETRIEVERS, BaseRetriever

    cls = RETRIEVERS.get(name)
    assert isinstance(cls, type) and issubclass(cls, BaseRetriever), cls
    assert cls.name == name, (cls.name, name)
    assert isinstance(getattr(cls, "needs_dense", False), bool)


def check_retriever_case(case: RetrieverCase) -> None:
    """Run every retriever check on ``case`` (skipped checks are passed over)."""
    for check in RETRIEVER_CHECKS:
        try:
            check(case)
        except pytest.skip.Exception:
            pass


def check_retriever(
    name: str,
    corpus: Any,
    queries: Sequence[str],
    *,
    dense: Any = None,
    params: Mapping[str, Any] | None = None,
    ranked_by_score: bool = True,
    repeatable: bool = True,
    tmp_path: Path | None = None,
) -> None:
    """Run every retriever check on the class registered as ``name`` over ``corpus``."""
    check_retriever_registration(name)
    check_retriever_case(
        RetrieverCase(
            make=lambda: make_retriever(name, corpus, dense=dense, params=params),
            queries=list(queries),
            ranked_by_score=ranked_by_score,
            repeatable=repeatable,
            tmp_path=tmp_path,
        )
    )


# =============================================================================================
# LM backends
# =============================================================================================

LM_REQUESTS = [
    ("The capital of France is", " Paris"),
    ("Review: a gorgeous, witty movie.\nSentiment:", " great"),
    ("The movie is terrible, the plot is", " bad and the ending is okay"),
]
LM_PROMPT = "Review: apparently reassembled from the cutting-room floor.\nSentiment:"
LM_OPTIONS = [" terrible", " bad", " okay", " good", " great"]


def check_lm_description(lm: Any) -> None:
    """An `LMBackend` with a non-empty ``name``, ``max_context`` None or > 0, ``count_tokens``; a
    context manager."""
    from fewshot.lm import LMBackend

    assert isinstance(lm, LMBackend), type(lm)
    assert isinstance(lm.name, str) and lm.name, lm.name
    ctx = lm.max_context
    assert ctx is None or (isinstance(ctx, int) and ctx > 0), ctx
    n = lm.count_tokens("The capital of France is Paris.")
    assert isinstance(n, int) and n >= 1, n
    assert lm.count_tokens("The capital of France is Paris. " * 4) > n
    assert callable(lm.close) and hasattr(lm, "__enter__") and hasattr(lm, "__exit__")


def check_lm_loglikelihood(lm: Any) -> None:
    """One `LogLik` per request, in order: >= 1 token, as many token texts as log-probs, finite
    log-probs <= 0; repeatable; an empty list gives []."""
    from fewshot.lm import LogLik

    out = lm.loglikelihood(LM_REQUESTS)
    assert isinstance(out, list) and len(out) == len(LM_REQUESTS)
    for ll in out:
        assert isinstance(ll, LogLik)
        assert ll.n_tokens >= 1 and len(ll.tokens) == ll.n_tokens
        assert all(math.isfinite(x) and x <= 1e-5 for x in ll.token_logprobs), ll.token_logprobs
        assert isinstance(ll.is_greedy, bool)
        assert ll.sum == pytest.approx(sum(ll.token_logprobs)) and ll.mean <= 1e-5
    assert out[2].n_tokens > out[0].n_tokens  # a longer continuation has more tokens
    # request order is kept (each request alone gives the same numbers)
    for req, ll in zip(LM_REQUESTS[::-1], lm.loglikelihood(LM_REQUESTS[::-1])):
        assert ll.token_logprobs == pytest.approx(out[LM_REQUESTS.index(req)].token_logprobs, abs=1e-4)
    assert lm.loglikelihood([]) == []


def check_lm_score_options(lm: Any) -> None:
    """One score per option, consistent with `loglikelihood` (mean NLL, argmin = ``best``), a
    probability distribution; ``kv_reuse=False`` gives the same numbers."""
    from fewshot.lm import OptionScores

    s = lm.score_options(LM_PROMPT, LM_OPTIONS)
    assert isinstance(s, OptionScores)
    n = len(LM_OPTIONS)
    assert s.mean_nll.shape == (n,) and s.sum_nll.shape == (n,) and s.n_tokens.shape == (n,)
    assert np.isfinite(s.mean_nll).all() and np.isfinite(s.sum_nll).all() and (s.n_tokens >= 1).all()
    lls = lm.loglikelihood([(LM_PROMPT, o) for o in LM_OPTIONS])
    np.testing.assert_allclose(s.mean_nll, [-ll.mean for ll in lls], atol=1e-4)
    np.testing.assert_allclose(s.sum_nll, [-ll.sum for ll in lls], atol=1e-3)
    assert s.n_tokens.tolist() == [ll.n_tokens for ll in lls]
    assert s.best == int(np.argmax([ll.mean for ll in lls]))
    assert s.probs.shape == (n,) and s.probs.sum() == pytest.approx(1.0)
    assert 1.0 / n - 1e-9 <= s.confidence <= 1.0
    assert s.best_mean_loglik == pytest.approx(-s.mean_nll[s.best])
    full = lm.score_options(LM_PROMPT, LM_OPTIONS, kv_reuse=False)
    np.testing.assert_allclose(full.mean_nll, s.mean_nll, atol=1e-4)
    one = lm.score_options(LM_PROMPT, LM_OPTIONS[:1])
    assert one.best == 0 and one.confidence == pytest.approx(1.0)


def check_lm_generate(lm: Any) -> None:
    """``len(prompts) * n`` generations, prompt-major, with their indices, a known finish reason and
    at most ``max_new_tokens`` finite log-probs; greedy and seeded sampling are repeatable; stop
    strings cut the text; an empty prompt list gives []."""
    from fewshot.lm import Generation, cut_at_stop

    prompts = ["The movie is", "The capital of France is"]
    greedy = lm.generate(prompts, max_new_tokens=6)
    assert isinstance(greedy, list) and len(greedy) == 2
    for i, g in enumerate(greedy):
        assert isinstance(g, Generation) and isinstance(g.text, str)
        assert (g.prompt_index, g.sample_index) == (i, 0)
        assert g.finish_reason in ("stop", "eos", "length"), g.finish_reason
        assert 0 <= g.n_tokens <= 6
        assert all(math.isfinite(x) and x <= 1e-5 for x in g.token_logprobs), g.token_logprobs
    assert [g.text for g in lm.generate(prompts, max_new_tokens=6)] == [g.text for g in greedy]
    sampled = lm.generate(prompts, max_new_tokens=6, temperature=1.0, seed=11, n=2)
    assert [(g.prompt_index, g.sample_index) for g in sampled] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    again = lm.generate(prompts, max_new_tokens=6, temperature=1.0, seed=11, n=2)
    assert [g.text for g in again] == [g.text for g in sampled]
    for a, b in zip(again, sampled):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-5)
    twice = lm.generate(prompts[:1], max_new_tokens=6, n=2)
    assert twice[0].text == twice[1].text == greedy[0].text  # greedy: n equal copies
    free = lm.generate(prompts[:1], max_new_tokens=12)[0]
    text = free.text.strip()
    if text:
        stop = text[len(text) // 2]
        [cut] = lm.generate(prompts[:1], max_new_tokens=12, stop=[stop])
        assert stop not in cut.text, (stop, cut.text)
        assert cut.text == cut_at_stop(free.text, [stop])[0], (free.text, stop, cut.text)
        assert cut.finish_reason == "stop"
    assert lm.generate([], max_new_tokens=4) == []


def check_lm_bad_input(lm: Any) -> None:
    """Empty continuations or options, non-str prompts, a bare str where a list is expected and
    out-of-range generation settings: InvalidInputError."""
    bad_calls: list[Callable[[], Any]] = [
        lambda: lm.loglikelihood([("prompt", "")]),
        lambda: lm.loglikelihood([("prompt",)]),
        lambda: lm.loglikelihood("prompt"),
        lambda: lm.loglikelihood([(1, " x")]),
        lambda: lm.score_options(LM_PROMPT, []),
        lambda: lm.score_options(LM_PROMPT, [" good", ""]),
        lambda: lm.score_options(LM_PROMPT, " good"),
        lambda: lm.score_options(None, [" good"]),
        lambda: lm.generate("The movie is", max_new_tokens=4),
        lambda: lm.generate([None], max_new_tokens=4),
        lambda: lm.generate(["x"], max_new_tokens=0),
        lambda: lm.generate(["x"], max_new_tokens=4, n=0),
        lambda: lm.generate(["x"], max_new_tokens=4, temperature=-1.0),
        lambda: lm.generate(["x"], max_new_tokens=4, temperature=float("nan")),
        lambda: lm.generate(["x"], max_new_tokens=4, seed=1.5),
        lambda: lm.generate(["x"], max_new_tokens=4, stop=[""]),
    ]
    for i, call in enumerate(bad_calls):
        with pytest.raises(InvalidInputError):
            call()
            raise AssertionError(f"bad call {i} did not raise")  # pragma: no cover


LM_CHECKS: list[Callable[[Any], None]] = [
    check_lm_description,
    check_lm_loglikelihood,
    check_lm_score_options,
    check_lm_generate,
    check_lm_bad_input,
]


def check_lm_backend(lm: Any) -> None:
    """Run every LM check on a built backend."""
    for check in LM_CHECKS:
        check(lm)


def check_backend_spec(scheme: str) -> None:
    """A spec naming no model after ``scheme:`` is an InvalidInputError, before anything is loaded."""
    from fewshot.lm import BACKENDS, get_backend

    assert scheme in BACKENDS and callable(BACKENDS.get(scheme))
    with pytest.raises(InvalidInputError, match="names no model"):
        get_backend(f"{scheme}:")


def check_unknown_backend_spec() -> None:
    """An unknown spec, an empty one or a non-str: InvalidInputError; the unknown-spec message
    names every registered scheme."""
    from fewshot.lm import BACKENDS, get_backend

    with pytest.raises(InvalidInputError) as err:
        get_backend("no-such-scheme:model")
    for scheme in BACKENDS.names():
        assert scheme in str(err.value), (scheme, str(err.value))
    for spec in ("", "   ", None, 3):
        with pytest.raises(InvalidInputError):
            get_backend(spec)  # type: ignore[arg-type]


# =============================================================================================
# Skill predictors
# =============================================================================================


def make_predictor(
    name: str, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, params: Mapping[str, Any] | None = None
) -> Any:
    """``PREDICTORS.get(name).for_pool(retriever, vocabulary, lm=...)`` (``lm`` only when ``needs_lm``)."""
    from fewshot.adaptive import PREDICTORS

    cls = PREDICTORS.get(name)
    if getattr(cls, "needs_lm", False):
        assert lm is not None, f"skill predictor {name!r} needs_lm: pass lm="
    return cls.for_pool(retriever, list(vocabulary), lm=lm if cls.needs_lm else None, **dict(params or {}))


def check_predictor_for_pool(
    name: str, retriever: Any, vocabulary: Sequence[str], *, lm: Any = None, params: Mapping[str, Any] | None = None
) -> None:
    """The registered class has ``for_pool`` and a bool ``needs_lm``; one that needs an LM refuses
    to be built without it; the predictor's ``vocabulary`` lies within the pool's."""
    from fewshot.adaptive import PREDICTORS

    cls = PREDICTORS.get(name)
    assert isinstance(cls.needs_lm, bool), cls.needs_lm
    assert callable(getattr(cls, "for_pool", None))
    if cls.needs_lm:
        with pytest.raises(InvalidInputError):
            cls.for_pool(retriever, list(vocabulary), lm=None, **dict(params or {}))
    predictor = make_predictor(name, retriever, vocabulary, lm=lm, params=params)
    assert list(predictor.vocabulary) and set(predictor.vocabulary) <= set(vocabulary), predictor.vocabulary
    assert callable(predictor.predict)


def check_predictor_output(predictor: Any, queries: Sequence[str], vocabulary: Sequence[str]) -> None:
    """One list per query, of at most ``top`` distinct skills of the vocabulary, most likely first
    (the ``top=1`` answer is the first skill of the ``top=3`` answer); a str is one query."""
    vocab = set(vocabulary)
    by_top = {}
    for top in (1, 3):
        out = predictor.predict(list(queries), top=top)
        assert isinstance(out, list) and len(out) == len(queries), out
        for skills in out:
            assert isinstance(skills, list) and len(skills) <= top, skills
            assert all(isinstance(s, str) for s in skills) and len(set(skills)) == len(skills), skills
            assert set(skills) <= vocab, f"skills outside the vocabulary: {set(skills) - vocab}"
        by_top[top] = out
    assert [s[:1] for s in by_top[3]] == by_top[1]
    assert predictor.predict(queries[0], top=3) == by_top[3][:1]
    if not getattr(type(predictor), "needs_lm", False):
        # embedding predictors always have neighbours / classes to vote with
        assert all(len(s) >= 1 for s in by_top[1]), by_top[1]


def check_predictor_deterministic(predictor: Any, queries: Sequence[str], vocabulary: Sequence[str]) -> None:
    """The same queries give the same skills; a batch equals its queries asked one at a time."""
    a = predictor.predict(list(queries), top=2)
    assert predictor.predict(list(queries), top=2) == a
    assert [predictor.predict([q], top=2)[0] for q in queries] == a


def check_predictor_bad_input(predictor: Any, queries: Sequence[str], vocabulary: Sequence[str]) -> None:
    """top < 1 or not an int, empty or non-str queries: InvalidInputError; no queries gives []."""
    for top in (0, -1, 1.5, True, "2", None):
        with pytest.raises(InvalidInputError):
            predictor.predict(list(queries), top=top)
    for bad in ([""], ["   "], [queries[0], None], [3]):
        with pytest.raises(InvalidInputError):
            predictor.predict(bad)
    assert predictor.predict([]) == []


PREDICTOR_CHECKS: list[Callable[[Any, Sequence[str], Sequence[str]], None]] = [
    check_predictor_output,
    check_predictor_deterministic,
    check_predictor_bad_input,
]


def check_predictor(
    name: str,
    retriever: Any,
    vocabulary: Sequence[str],
    queries: Sequence[str],
    *,
    lm: Any = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Run every predictor check on the class registered as ``name``."""
    check_predictor_for_pool(name, retriever, vocabulary, lm=lm, params=params)
    predictor = make_predictor(name, retriever, vocabulary, lm=lm, params=params)
    for check in PREDICTOR_CHECKS:
        check(predictor, queries, vocabulary)


# =============================================================================================
# Prompt templates
# =============================================================================================
# Every check takes (name, sample): a registered template name and a demonstration item (a
# mapping) holding every field the template names.


def _template(name: str):
    from fewshot.prompt import TEMPLATES

    return TEMPLATES.get(name)


def _query_item(tpl: Any, sample: Mapping[str, Any]) -> dict[str, Any]:
    """``sample`` without the fields only the answer needs (what a query has)."""
    return {k: v for k, v in sample.items() if k in tpl.input_fields or k not in tpl.output_fields}


def check_template_sample(name: str, sample: Mapping[str, Any]) -> None:
    """The template is a `PromptTemplate` registered under its own name, its input names at least
    one field, and the sample item holds every field it names (a guard on the sample table)."""
    from fewshot.prompt import PromptTemplate

    tpl = _template(name)
    assert isinstance(tpl, PromptTemplate), type(tpl)
    assert tpl.name == name, (tpl.name, name)
    assert tpl.input_fields, f"template {name!r} renders no field of the query"
    missing = (tpl.input_fields | tpl.output_fields) - set(sample)
    assert not missing, f"sample item for template {name!r} lacks fields {sorted(missing)}"


def check_template_renders(name: str, sample: Mapping[str, Any]) -> None:
    """A demo renders as input + output and shows the sample's text; the query renders from the
    input fields alone; rendering is a pure function of the item."""
    tpl = _template(name)
    inp, out = tpl.render_input(sample), tpl.render_output(sample)
    assert isinstance(inp, str) and isinstance(out, str) and inp and out.strip()
    assert tpl.render_demo(sample) == inp + out
    for f in tpl.input_fields | tpl.output_fields:
        value = sample[f]
        if isinstance(value, str) and f not in tpl.formatters and not (f == "label" and tpl.verbalizer):
            assert value in inp + out, (f, value)
    query = _query_item(tpl, sample)
    assert tpl.render_input(query) == inp
    assert tpl.render_input(dict(sample)) == inp  # no hidden state
    for f in tpl.output_fields - tpl.input_fields:
        with pytest.raises(InvalidInputError, match=f):
            tpl.render_output(query)


def check_template_missing_field(name: str, sample: Mapping[str, Any]) -> None:
    """An item without a field the input needs (absent or None): InvalidInputError naming it."""
    tpl = _template(name)
    for f in sorted(tpl.input_fields):
        without = {k: v for k, v in sample.items() if k != f}
        with pytest.raises(InvalidInputError, match=f):
            tpl.render_input(without)
        with pytest.raises(InvalidInputError, match=f):
            tpl.render_input({**sample, f: None})


def check_template_builds_prompt(name: str, sample: Mapping[str, Any]) -> None:
    """`PromptBuilder` puts the instruction first, the demos, then the query; chat messages
    alternate user/assistant and end with the query."""
    from fewshot.prompt import ApproxTokenCounter, PromptBuilder

    tpl = _template(name)
    demos = [{**sample, "id": "d1"}, {**sample, "id": "d2"}]
    query = _query_item(tpl, sample)
    built = PromptBuilder(tpl, ApproxTokenCounter(), max_tokens=100_000, order="retrieval").build(query, demos)
    demo_text = tpl.render_demo(sample)
    expected = tpl.join([demo_text, demo_text], tpl.render_input(query))
    assert built.text == expected, (built.text, expected)
    assert built.template_name == name and built.demo_ids == ["d1", "d2"]
    if tpl.instruction:
        assert built.text.startswith(tpl.instruction)
    assert built.text.endswith(tpl.render_input(query))
    roles = [m["role"] for m in built.messages]
    assert roles == (["system"] if tpl.instruction else []) + ["user", "assistant"] * 2 + ["user"], roles


def check_template_changes(name: str, sample: Mapping[str, Any]) -> None:
    """``get_template(name)`` is the registered template; ``instruction=`` changes only the
    instruction, leaving the registered one untouched; an unknown option is an InvalidInputError."""
    from fewshot.prompt import get_template

    tpl = _template(name)
    assert get_template(name) == tpl
    changed = get_template(name, instruction="x")
    assert changed.instruction == "x"
    for f in dataclasses.fields(tpl):
        if f.name != "instruction":
            assert getattr(changed, f.name) == getattr(tpl, f.name), f.name
    assert changed.render_demo(sample) == tpl.render_demo(sample)
    assert changed.join(["D"], "Q") == tpl.separator.join(["x", "D", "Q"])
    assert _template(name).instruction == tpl.instruction and _template(name) is tpl
    with pytest.raises(InvalidInputError):
        get_template(name, no_such_option=1)


def check_template_unknown_name(name: str, sample: Mapping[str, Any]) -> None:
    """A misspelt name: InvalidInputError suggesting the closest name and listing every name."""
    from fewshot.prompt import TEMPLATES, get_template

    with pytest.raises(InvalidInputError) as err:
        get_template(name + "x")
    msg = str(err.value)
    assert "did you mean" in msg, msg
    for known in TEMPLATES.names():
        assert known in msg, (known, msg)


TEMPLATE_CHECKS: list[Callable[[str, Mapping[str, Any]], None]] = [
    check_template_sample,
    check_template_renders,
    check_template_missing_field,
    check_template_builds_prompt,
    check_template_changes,
    check_template_unknown_name,
]


def check_template(name: str, sample: Mapping[str, Any]) -> None:
    """Run every template check on the template registered as ``name``."""
    for check in TEMPLATE_CHECKS:
        check(name, sample)


def check_template_samples_cover(names: Sequence[str], samples: Mapping[str, Any]) -> None:
    """Every registered template has a sample item (a new template without one fails here)."""
    missing = [n for n in names if n not in samples]
    assert not missing, (
        f"templates without a sample item: {missing}; add one to TEMPLATE_SAMPLES in tests/contracts/conftest.py"
    )
