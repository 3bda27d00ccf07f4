"""Helpers shared by the LM tests (a module of its own: ``conftest`` is not importable by name
when several test folders have one)."""

from __future__ import annotations

import torch


def full_pass_logprobs(lm, ids: list[int]) -> list[float]:
    """Log-prob of each token ids[1:] given the ones before, from one unpadded forward pass."""
    with torch.no_grad():
        logits = lm.model(torch.tensor([ids])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return [float(logp[j - 1, ids[j]]) for j in range(1, len(ids))]
