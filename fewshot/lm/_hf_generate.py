"""The decoding loop of `HFCausalLM.generate`: greedy or seeded sampling, stop strings, EOS.

Each sequence samples with its own ``torch.Generator`` seeded from
``SeedSequence([seed, prompt_index, sample_index])``, so a seed gives the same samples whatever
the batch size or the order in which prompts are batched (up to float rounding between padded
and unpadded forward passes). The prompts are prefilled once (left padding, explicit position
ids); for ``n`` samples the prefilled KV cache is repeated ``n`` times. Rows that finish are
dropped from the batch (and from the cache) as the loop goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from fewshot.lm._results import Generation
from fewshot.lm.base import cut_at_stop

__all__ = ["generate_batch"]


def _row_generator(seed: int, prompt_index: int, sample_index: int, device: torch.device) -> torch.Generator:
    state = np.random.SeedSequence([seed, prompt_index, sample_index]).generate_state(2, dtype=np.uint32)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(state[0]) << 32 | int(state[1]))
    return gen


def _kept_tokens(tokenizer, ids: Sequence[int], n_chars: int) -> int:
    """Smallest k such that the first k tokens decode to at least ``n_chars`` characters (>= 1)."""
    for k in range(1, len(ids) + 1):
        if len(tokenizer.decode(ids[:k], skip_special_tokens=True)) >= n_chars:
            return k
    return max(1, len(ids))


def generate_batch(
    lm: Any,
    contexts: list[list[int]],
    prompt_indices: list[int],
    *,
    max_new_tokens: int,
    stop: list[str],
    temperature: float,
    seed: int | None,
    samples: int,
) -> list[list[Generation]]:
    """Decode ``samples`` continuations of each context with ``lm`` (an `HFCausalLM`); one list of
    Generations per context."""
    tok = lm.tokenizer
    ids, mask, pos = lm._left_pad(contexts)
    logits, cache = lm._forward(ids, mask, pos, keep=1, use_cache=True)
    if samples > 1:
        logits = logits.repeat_interleave(samples, dim=0)
        mask = mask.repeat_interleave(samples, dim=0)
        pos = pos.repeat_interleave(samples, dim=0)
        cache.batch_repeat_interleave(samples)
    rows = [(p, s) for p in prompt_indices for s in range(samples)]
    gens = [_row_generator(seed, p, s, lm.device) for p, s in rows] if temperature > 0 and seed is not None else None
    n_rows = len(rows)
    out_ids: list[list[int]] = [[] for _ in range(n_rows)]
    out_lp: list[list[float]] = [[] for _ in range(n_rows)]
    finish: list[str | None] = [None] * n_rows
    active = list(range(n_rows))  # row numbers still decoding, in batch order
    next_pos = pos[:, -1] + 1
    for step in range(max_new_tokens):
        last = logits[:, -1]
        logp = torch.log_softmax(last, dim=-1)
        if gens is not None:
            probs = torch.softmax(last / temperature, dim=-1)
            nxt = torch.stack([torch.multinomial(probs[b], 1, generator=gens[r])[0] for b, r in enumerate(active)])
        else:
            nxt = last.argmax(dim=-1)
        chosen_lp = logp.gather(1, nxt[:, None])[:, 0].tolist()
        keep_b = []
        for b, r in enumerate(active):
            t = int(nxt[b])
            out_ids[r].append(t)
            out_lp[r].append(float(chosen_lp[b]))
            if t in lm.eos_ids:
                finish[r] = "eos"
            elif stop and cut_at_stop(tok.decode(out_ids[r], skip_special_tokens=True), stop)[1]:
                finish[r] = "stop"
            elif step == max_new_tokens - 1:
                finish[r] = "length"
            else:
                keep_b.append(b)
        if not keep_b:
            break
        if len(keep_b) < len(active):
            sel = torch.tensor(keep_b, device=lm.device)
            nxt, mask, next_pos = nxt[sel], mask[sel], next_pos[sel]
            cache.batch_select_indices(sel)
            active = [active[b] for b in keep_b]
        mask = torch.cat([mask, torch.ones((len(active), 1), dtype=mask.dtype, device=mask.device)], dim=1)
        logits, cache = lm._forward(nxt[:, None], mask, next_pos[:, None], keep=1, past=cache)
        next_pos = next_pos + 1

    results: list[list[Generation]] = [[] for _ in prompt_indices]
    for r, (p, s) in enumerate(rows):
        ids_r, lp_r, why = out_ids[r], out_lp[r], finish[r] or "length"
        if why == "eos":
            body = ids_r[:-1]
            text = tok.decode(body, skip_special_tokens=True)
            lps = lp_r[:-1] if body else lp_r
        else:
            text = tok.decode(ids_r, skip_special_tokens=True)
            lps = lp_r
        cut, found = cut_at_stop(text, stop)
        if found:
            lps = lp_r[: _kept_tokens(tok, ids_r, len(cut))]
            text = cut
            why = "stop"
        results[r // samples].append(
            Generation(text=text, token_logprobs=tuple(lps), finish_reason=why, prompt_index=p, sample_index=s)
        )
    return results
