"""UDR training losses as pure torch functions (SPEC 5).

Conventions: a *list* is the K candidates of one query **in LM order** (column 0 is the LM's best
candidate, column K-1 its worst); ``scores`` are the bi-encoder's dot products for those columns.

* `lambdarank_loss` -- pairwise LambdaRank over each list. Ground-truth relevance of column ``i``
  is ``1 / (i + 1)`` (1 / LM rank); the model's predicted position ``p_i`` is the 1-based rank of
  ``scores[i]`` within its row. Every pair with the LM preferring ``i`` over ``j`` (``i < j``)
  costs ``w_ij * log(1 + exp(-(s_i - s_j)))`` with
  ``w_ij = (1/(i+1) - 1/(j+1)) * |1/p_i - 1/p_j|`` (the UDR paper's weight: gain difference
  times the change in 1/position that swapping the two would make). Summed over pairs,
  averaged over queries. Weights carry no gradient.
* `inbatch_loss` -- cross-entropy of each query against every candidate in the batch, with its
  own LM-best candidate as the positive.
* `udr_loss` -- ``rank_weight * lambdarank + inbatch`` (paper: ``4 * L_rank + L_inbatch``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["lambdarank_loss", "inbatch_loss", "udr_loss", "predicted_positions"]


def predicted_positions(scores: torch.Tensor) -> torch.Tensor:
    """1-based rank of each score within its row, highest score first (ties: earlier column first).

    >>> predicted_positions(torch.tensor([[0.1, 0.9, 0.5]])).tolist()
    [[3.0, 1.0, 2.0]]
    """
    order = torch.argsort(-scores, dim=-1, stable=True)
    pos = torch.empty_like(order)
    ranks = torch.arange(1, scores.shape[-1] + 1, device=scores.device).expand_as(order)
    pos.scatter_(-1, order, ranks)
    return pos.to(scores.dtype)


def lambdarank_loss(scores: torch.Tensor) -> torch.Tensor:
    """Pairwise LambdaRank loss of ``scores`` of shape (B, K), columns in LM order (best first).

    Returns a scalar: the sum over ordered pairs ``i < j`` of
    ``(1/(i+1) - 1/(j+1)) * |1/p_i - 1/p_j| * softplus(-(s_i - s_j))``, averaged over the B rows.
    """
    if scores.dim() != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must have shape (B, K) with K >= 2, got {tuple(scores.shape)}")
    k = scores.shape[1]
    gain = 1.0 / torch.arange(1, k + 1, device=scores.device, dtype=scores.dtype)  # (K,)
    with torch.no_grad():
        inv_pos = 1.0 / predicted_positions(scores)  # (B, K)
        pos_delta = (inv_pos[:, :, None] - inv_pos[:, None, :]).abs()  # (B, K, K)
        gain_delta = (gain[:, None] - gain[None, :]).clamp(min=0)  # (K, K): >0 only for i < j
        weight = gain_delta[None] * pos_delta
    diff = scores[:, :, None] - scores[:, None, :]  # s_i - s_j
    return (weight * F.softplus(-diff)).sum(dim=(1, 2)).mean()


def inbatch_loss(query_vecs: torch.Tensor, cand_vecs: torch.Tensor, k: int) -> torch.Tensor:
    """Cross-entropy of each query over all candidates in the batch.

    query_vecs : (B, d); cand_vecs : (B * k, d), query b's candidates at rows ``b*k .. b*k+k-1``
    in LM order, so its positive (LM-best candidate) is row ``b*k``.
    """
    b = query_vecs.shape[0]
    if cand_vecs.shape[0] != b * k:
        raise ValueError(f"cand_vecs must have B*k = {b * k} rows, got {cand_vecs.shape[0]}")
    logits = query_vecs @ cand_vecs.T  # (B, B*k)
    target = torch.arange(b, device=logits.device) * k
    return F.cross_entropy(logits, target)


def udr_loss(
    query_vecs: torch.Tensor, cand_vecs: torch.Tensor, k: int, *, rank_weight: float = 4.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(total, rank, inbatch)`` with ``total = rank_weight * rank + inbatch``."""
    b = query_vecs.shape[0]
    scores = (query_vecs[:, None, :] * cand_vecs.view(b, k, -1)).sum(-1)  # (B, k)
    rank = lambdarank_loss(scores)
    inb = inbatch_loss(query_vecs, cand_vecs, k)
    return rank_weight * rank + inb, rank, inb
