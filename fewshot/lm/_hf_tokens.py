"""Tokenisation for scoring with a Hugging Face tokenizer: where the continuation starts.

The boundary rule (documented on `LMBackend.loglikelihood`): tokenise ``prompt`` and
``prompt + continuation`` separately; the continuation's tokens start at the first position
where the two token lists differ (their longest common prefix). When the tokenizer merges the
prompt's last characters with the continuation's first ones (``"...is"`` + ``"n't"``, or a
prompt ending in a space followed by a word, which byte-level BPE writes as one ``" word"``
token), the merged token is scored as part of the continuation. Tokenising the pair as one text
keeps the token sequence the model would actually see; the common-prefix rule never attributes
continuation characters to the prompt.

Special tokens: the tokens the tokenizer puts *before* a text (``<bos>``, ``[CLS]``) are kept in
front of every context; those it puts after (``</s>``, ``[SEP]``) are dropped, since they would
sit between the prompt and its continuation. When nothing at all precedes the first scored token
(empty prompt, or a tokenizer without a leading special token whose first token straddles the
boundary), the tokenizer's BOS token -- or failing that its EOS token -- is used as the context.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fewshot.exceptions import InvalidInputError

__all__ = ["PairEncoding", "PairEncoder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairEncoding:
    """Token ids of context + continuation, and where the continuation starts.

    ``ids[:split]`` is the context (``split >= 1``), ``ids[split:]`` the scored tokens (at least one).
    ``truncated`` counts context tokens dropped from the left to fit the model's context.
    """

    ids: list[int]
    split: int
    truncated: int = 0

    @property
    def n_cont(self) -> int:
        return len(self.ids) - self.split


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _leading_special_ids(tokenizer: Any) -> list[int]:
    """The ids the tokenizer adds before a text (``[bos]``, ``[cls]``, or nothing)."""
    probe = "a"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for k in range(len(full) - len(plain) + 1):
        if full[k : k + len(plain)] == plain:
            return list(full[:k])
    return []


class PairEncoder:
    """Turns (prompt, continuation) pairs into `PairEncoding` with the boundary rule above.

    Parameters
    ----------
    tokenizer : a Hugging Face tokenizer (fast or slow)
    max_length : int or None
        Longest sequence the model takes; longer ones lose context tokens from the left
        (a warning is logged). None: no limit.
    """

    def __init__(self, tokenizer: Any, max_length: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix = _leading_special_ids(tokenizer)
        start = tokenizer.bos_token_id
        if start is None:
            start = tokenizer.eos_token_id
        if start is None and self.prefix:
            start = self.prefix[-1]
        self.start_id: int | None = start

    # -- plain encoding ---------------------------------------------------------------------

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens."""
        if not texts:
            return []
        return [list(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def context(self, prompt: str, *, reserve: int = 0) -> list[int]:
        """Ids to condition generation on: leading specials + prompt (or the start token).

        Keeps at most ``max_length - reserve`` tokens, dropping from the left.
        """
        ids = self.prefix + self.encode_many([prompt])[0]
        if not ids:
            if self.start_id is None:
                raise InvalidInputError(
                    "the prompt is empty and the tokenizer has no BOS/EOS token to start from; give a non-empty prompt"
                )
            ids = [self.start_id]
        if self.max_length is not None:
            room = self.max_length - reserve
            if room < 1:
                raise InvalidInputError(
                    f"max_new_tokens={reserve} leaves no room for the prompt in "
                    f"the model's context of {self.max_length} tokens"
                )
            if len(ids) > room:
                log.warning("prompt of %d tokens cut to its last %d to fit the context", len(ids), room)
                ids = ids[-room:]
        return ids

    # -- pairs --------------------------------------------------------------------------------

    def pairs(self, requests: Sequence[tuple[str, str]]) -> list[PairEncoding]:
        """Encode checked (prompt, continuation) pairs; see the module docstring for the rule."""
        prompts = [p for p, _ in requests]
        wholes = [p + c for p, c in requests]
        # Many requests share a prompt (options of one question): encode each distinct text once.
        uniq = list(dict.fromkeys(prompts + wholes))
        enc = dict(zip(uniq, self.encode_many(uniq)))
        out = []
        for i, (prompt, cont) in enumerate(requests):
            ctx = self.prefix + enc[prompt]
            whole = self.prefix + enc[prompt + cont]
            split = _common_prefix(ctx, whole)
            if split == len(whole):
                raise InvalidInputError(
                    f"request {i}: the continuation {cont!r} adds no token to the prompt "
                    "(the tokenizer drops it); nothing to score"
                )
            if split == 0:
                if self.start_id is None:
                    raise InvalidInputError(
                        f"request {i}: no context token before the continuation and the tokenizer "
                        "has no BOS/EOS token to use; give a non-empty prompt"
                    )
                whole = [self.start_id] + whole
                split = 1
            out.append(self._fit(i, whole, split))
        return out

    def _fit(self, i: int, ids: list[int], split: int) -> PairEncoding:
        if self.max_length is None or len(ids) <= self.max_length:
            return PairEncoding(ids, split)
        drop = len(ids) - self.max_length
        if split - drop < 1:
            raise InvalidInputError(
                f"request {i}: the continuation alone has {len(ids) - split} tokens, more than the "
                f"model's context of {self.max_length} allows with any context"
            )
        log.warning(
            "request %d: %d context tokens dropped from the left to fit the context of %d", i, drop, self.max_length
        )
        return PairEncoding(ids[drop:], split - drop, truncated=drop)
