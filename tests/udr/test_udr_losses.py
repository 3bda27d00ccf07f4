"""UDR losses on hand-computed cases, and the K-sampling rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fewshot.exceptions import InvalidInputError  # noqa: E402
from fewshot.udr import inbatch_loss, lambdarank_loss, predicted_positions, sample_candidates, udr_loss  # noqa: E402


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_predicted_positions_rank_highest_first():
    pos = predicted_positions(torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]))
    assert pos.tolist() == [[2.0, 1.0, 3.0], [2.0, 3.0, 1.0]]  # ties: earlier column first


def test_lambdarank_three_candidates_by_hand():
    # LM order: column 0 best (relevance 1), column 1 (1/2), column 2 (1/3).
    # The model scores [1, 2, 0]: predicted positions p = [2, 1, 3].
    s = torch.tensor([[1.0, 2.0, 0.0]])
    w01 = (1 - 1 / 2) * abs(1 / 2 - 1 / 1)  # 0.25
    w02 = (1 - 1 / 3) * abs(1 / 2 - 1 / 3)  # 1/9
    w12 = (1 / 2 - 1 / 3) * abs(1 / 1 - 1 / 3)  # 1/9
    expected = w01 * _softplus(-(1.0 - 2.0)) + w02 * _softplus(-(1.0 - 0.0)) + w12 * _softplus(-(2.0 - 0.0))
    assert float(lambdarank_loss(s)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.377225, abs=1e-6)


def test_lambdarank_prefers_lm_order():
    right = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    wrong = torch.flip(right, dims=[1])
    assert float(lambdarank_loss(right)) < float(lambdarank_loss(wrong))


def test_lambdarank_gradient_pushes_best_up():
    s = torch.tensor([[0.0, 1.0, 0.5]], requires_grad=True)
    lambdarank_loss(s).backward()
    assert s.grad[0, 0] < 0  # raising the LM-best candidate's score lowers the loss
    assert s.grad[0, 2] > 0  # the LM-worst one goes down


def test_lambdarank_averages_over_rows():
    a = torch.tensor([[1.0, 2.0, 0.0]])
    b = torch.tensor([[0.0, 0.5, 3.0]])
    both = lambdarank_loss(torch.cat([a, b]))
    assert float(both) == pytest.approx((float(lambdarank_loss(a)) + float(lambdarank_loss(b))) / 2)


def test_lambdarank_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        lambdarank_loss(torch.zeros(3))


def test_inbatch_loss_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    c = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # k=2: positives rows 0 and 2
    # query 0 logits [1, 0, 0, 1] -> target 0; query 1 logits [0, 0, 1, 1] -> target 2
    expected = math.log(2 * math.e + 2) - 1
    assert float(inbatch_loss(q, c, 2)) == pytest.approx(expected, rel=1e-6)


def test_udr_loss_is_weighted_sum():
    g = torch.Generator().manual_seed(0)
    q, c = torch.randn(3, 5, generator=g), torch.randn(12, 5, generator=g)
    total, rank, inb = udr_loss(q, c, 4, rank_weight=4.0)
    assert float(total) == pytest.approx(4 * float(rank) + float(inb), rel=1e-6)
    scores = (q[:, None, :] * c.view(3, 4, 5)).sum(-1)
    assert float(rank) == pytest.approx(float(lambdarank_loss(scores)), rel=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_sample_candidates_rule(seed):
    ranked = [f"c{i}" for i in range(30)]
    got = sample_candidates(ranked, 8, rng=np.random.default_rng(seed))
    idx = [ranked.index(c) for c in got]
    assert len(got) == 8 and len(set(got)) == 8
    assert idx == sorted(idx)  # LM order kept
    assert sum(i < 5 for i in idx) == 1
    assert sum(i >= 25 for i in idx) == 1
    assert sum(5 <= i < 25 for i in idx) == 6


def test_sample_candidates_small_lists():
    assert sample_candidates([3, 1, 2], 8, rng=np.random.default_rng(0)) == [3, 1, 2]
    got = sample_candidates(list(range(10)), 8, rng=np.random.default_rng(0))
    assert len(got) == 8 and got == sorted(got)
    assert any(i < 5 for i in got) and any(i >= 5 for i in got)
    with pytest.raises(InvalidInputError, match="k must be"):
        sample_candidates([1, 2, 3], 1, rng=np.random.default_rng(0))


def test_sample_candidates_seeded():
    a = sample_candidates(list(range(50)), 8, rng=np.random.default_rng(7))
    b = sample_candidates(list(range(50)), 8, rng=np.random.default_rng(7))
    assert a == b


@pytest.mark.parametrize("name", ["fewshot.udr._losses", "fewshot.udr._sampling"])
def test_doctests(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
